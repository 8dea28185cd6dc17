#!/bin/bash
# usage: ab.sh NAME PAIRS  -- the A/B driver of ../results-2026-12-02-queue-waits/ab.sh, switching SB_EXP_INLINE
# (1 = the writer flushes a lone commit itself) in the experimental build
AB_VAR=SB_EXP_INLINE exec "$(dirname "$0")/../results-2026-12-02-queue-waits/ab.sh" "$@"
