# `bench --json` names what each layer is: conv_bn_layer fused is one conv, 3x3 from 16 to 32
# channels on its 32x32 input (the zoo's defaults), with its op, the kernel that ran it and the
# algorithm auto resolved to (not "auto").
#   -DFUSESCOPE=<binary> -DOUT=<json file>
execute_process(COMMAND ${FUSESCOPE} bench conv_bn_layer --fuse all --iters 1 --warmup 0 --json ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fusescope bench: exit ${rc}\n${err}")
endif()
file(READ ${OUT} json)
string(JSON n LENGTH "${json}" candidates 0 layers)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one layer in the fused conv_bn_layer, got ${n}\n${json}")
endif()
string(JSON op GET "${json}" candidates 0 layers 0 op)
string(JSON conv GET "${json}" candidates 0 layers 0 conv)
string(JSON kernel GET "${json}" candidates 0 layers 0 kernel)
string(JSON algorithm GET "${json}" candidates 0 layers 0 algorithm)
if(NOT op STREQUAL "conv2d" OR NOT conv STREQUAL "3x3 16->32 32x32" OR NOT kernel MATCHES "^conv2d" OR
   algorithm STREQUAL "" OR algorithm STREQUAL "auto")
  message(FATAL_ERROR "layer 0: op '${op}', conv '${conv}', kernel '${kernel}', algorithm '${algorithm}'; "
                      "expected conv2d, '3x3 16->32 32x32', a conv2d* kernel, the algorithm auto chose")
endif()
