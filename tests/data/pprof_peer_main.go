package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

var sink [][]byte
var keep [][]byte

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 64))
	}
}

//go:noinline
func allocLarge(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 256<<10))
	}
}

func inlinedAlloc() []byte { return make([]byte, 4096) }

//go:noinline
func viaInline(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, inlinedAlloc())
	}
}

var acc uint64

//go:noinline
func spinA(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			acc += uint64(i) * 2654435761
		}
	}
}

//go:noinline
func spinB(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			acc ^= uint64(i) << 3
		}
	}
}

func write(name string, f func(*os.File) error) {
	out, err := os.Create(name)
	if err != nil {
		panic(err)
	}
	if err := f(out); err != nil {
		panic(err)
	}
	out.Close()
}

func main() {
	runtime.MemProfileRate = 1
	dir := os.Args[1]
	ctx := context.Background()
	pprof.Do(ctx, pprof.Labels("pool", "hash"), func(context.Context) { allocSmall(2000) })
	allocLarge(8)
	viaInline(100)
	sink = nil
	runtime.GC()
	runtime.GC()
	write(dir+"/heap1.prof", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	allocSmall(500)
	allocLarge(4)
	runtime.GC()
	write(dir+"/heap2.prof", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	write(dir+"/allocs.prof", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	write(dir+"/cpu.prof", func(f *os.File) error {
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		pprof.Do(ctx, pprof.Labels("pool", "hash"), func(context.Context) { spinA(300 * time.Millisecond) })
		pprof.Do(ctx, pprof.Labels("pool", "tar", "size_class", "64k"), func(context.Context) { spinB(200 * time.Millisecond) })
		pprof.StopCPUProfile()
		return nil
	})
}
