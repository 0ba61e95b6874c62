# The optional gRPC baseline of P8 and P2 (bench/grpc_baseline.cpp): Debian's libgrpc++-dev,
# libprotobuf-dev, protobuf-compiler and protobuf-compiler-grpc (`./dev bench` installs them).
# Meant to be include()d from bench/CMakeLists.txt. Defines the target netcore_bench_grpc and sets
# NETCORE_BENCH_GRPC_ENABLED (a cache entry `./dev bench` reads) when everything is found; without
# them the benchmarks build without the gRPC baseline.
option(NETCORE_BENCH_GRPC "Build the gRPC baseline of P8 and P2 when gRPC is found" ON)

set(NETCORE_BENCH_GRPC_ENABLED OFF CACHE INTERNAL "whether the gRPC baseline is built")
if(NOT NETCORE_BENCH_GRPC)
  message(STATUS "gRPC baseline: disabled (NETCORE_BENCH_GRPC=OFF)")
  return()
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(NETCORE_GRPC QUIET IMPORTED_TARGET grpc++ protobuf)
endif()
find_program(NETCORE_PROTOC protoc)
find_program(NETCORE_GRPC_CPP_PLUGIN grpc_cpp_plugin)
if(NOT NETCORE_GRPC_FOUND OR NOT NETCORE_PROTOC OR NOT NETCORE_GRPC_CPP_PLUGIN)
  message(STATUS "gRPC baseline: not built (needs pkg-config modules grpc++ and protobuf, protoc "
                 "and grpc_cpp_plugin: Debian's libgrpc++-dev libprotobuf-dev protobuf-compiler "
                 "protobuf-compiler-grpc; `./dev bench` installs them)")
  return()
endif()

set(_grpc_proto ${CMAKE_CURRENT_LIST_DIR}/echo.proto)
set(_grpc_out ${CMAKE_CURRENT_BINARY_DIR}/grpc_generated)
set(_grpc_sources ${_grpc_out}/echo.pb.cc ${_grpc_out}/echo.grpc.pb.cc)
set(_grpc_headers ${_grpc_out}/echo.pb.h ${_grpc_out}/echo.grpc.pb.h)
add_custom_command(
  OUTPUT ${_grpc_sources} ${_grpc_headers}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_grpc_out}
  COMMAND ${NETCORE_PROTOC} --proto_path=${CMAKE_CURRENT_LIST_DIR} --cpp_out=${_grpc_out}
          --grpc_out=${_grpc_out} --plugin=protoc-gen-grpc=${NETCORE_GRPC_CPP_PLUGIN} ${_grpc_proto}
  DEPENDS ${_grpc_proto}
  COMMENT "Generating the gRPC echo service from echo.proto"
  VERBATIM)
# Generated code is not held to the project's warning flags.
set_source_files_properties(${_grpc_sources} PROPERTIES COMPILE_OPTIONS "-w")

add_library(netcore_bench_grpc STATIC ${CMAKE_CURRENT_LIST_DIR}/grpc_baseline.cpp ${_grpc_sources})
target_include_directories(netcore_bench_grpc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# SYSTEM: the generated headers are included by grpc_baseline.cpp, which keeps the warning flags.
target_include_directories(netcore_bench_grpc SYSTEM PRIVATE ${_grpc_out})
target_link_libraries(netcore_bench_grpc PUBLIC netcore_bench_baselines netcore::options PRIVATE PkgConfig::NETCORE_GRPC
                                                                       Threads::Threads)
target_compile_definitions(netcore_bench_grpc INTERFACE NETCORE_BENCH_HAVE_GRPC=1)
set(NETCORE_BENCH_GRPC_ENABLED ON CACHE INTERNAL "whether the gRPC baseline is built")
message(STATUS "gRPC baseline: built (grpc++ ${NETCORE_GRPC_grpc++_VERSION}, protobuf "
               "${NETCORE_GRPC_protobuf_VERSION})")
