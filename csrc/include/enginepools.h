/* enginepools.h — the public C API of enginepools, one include for all.
 * Each domain has its own header beside this one. */
#ifndef ENGINEPOOLS_H
#define ENGINEPOOLS_H

#define EP_VERSION "0.1.0"

#include "ep_common.h"
#include "ep_alloc.h"
#include "ep_pool.h"
#include "ep_bufpool.h"
#include "ep_strbuf.h"
#include "ep_workerpool.h"
#include "ep_sha256.h"
#include "ep_bench.h"
#include "ep_pprof.h"
#include "ep_benchtext.h"
#include "ep_tar.h"
#include "ep_heapprof.h"
#include "ep_pipeline.h"

#endif
