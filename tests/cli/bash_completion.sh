#!/usr/bin/env bash
# The generated bash completion (tools/make_bash_completion.cpp), driven as bash drives it:
# COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY read.
#   bash_completion.sh COMPLETION_FILE
set -uo pipefail
source "$1" || { echo "FAILED: cannot source $1"; exit 1; }
failures=0
# check "<words typed>" +WORD... !WORD...: what must (+) and must not (!) be offered
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _fusescope
}
check() {
  local line=$1; shift
  read -r -a words <<<"$line"
  [[ $line == *" " ]] && words+=("")  # the cursor after a space: an empty word being completed
  complete_words "${words[@]}"
  local offered=" ${COMPREPLY[*]} "
  for want in "$@"; do
    local word=${want:1}
    if [[ $want == +* && $offered != *" $word "* ]]; then
      echo "FAILED: '$line<TAB>' does not offer $word (offered:$offered)"; failures=$((failures + 1))
    elif [[ $want == !* && $offered == *" $word "* ]]; then
      echo "FAILED: '$line<TAB>' offers $word (offered:$offered)"; failures=$((failures + 1))
    fi
  done
}
check "fusescope ru" +run
check "fusescope " +run +compare +models +devices +--version
check "fusescope run resnet5" +resnet50-keras
check "fusescope compare conv_bn_layer --fuse " +none +bn +all +runtime
check "fusescope run conv_bn_layer --ou" +--output
check "fusescope run conv_bn_layer --" +--output +--fuse '!--dump'
check "fusescope preprocess x.png --" +--output +--shape '!--out'
check "fusescope detect --" +--output '!--out' 
check "fusescope models --" +--json +--help
check "fusescope demo --si" +--size
check "fusescope bench conv_bn_layer --auto" +--autotune
check "fusescope run conv_bn_layer --algorithm " +auto +direct +gemm +subgroup +depthwise
[ $failures -eq 0 ] && echo "completion: all cases offered as expected"
exit $((failures > 0))
