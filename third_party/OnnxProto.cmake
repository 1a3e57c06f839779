# ONNX (Debian's libonnx-dev, third_party/README.md): the `onnx_proto` target carries the
# generated protobuf classes (libonnx_proto.so) plus the definitions its headers need
# (ONNX_ML=1, ONNX_NAMESPACE=onnx), and `onnx` the checker the exporter runs. The package's
# CMake config links protobuf::libprotobuf without finding Protobuf itself, so Protobuf
# (libprotobuf-dev, CMake's own FindProtobuf) must be found first.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
