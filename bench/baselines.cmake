# Same-run baselines (raw TCP, ZeroMQ) for the netcore benchmarks, plus a small program printing them.
# Meant to be include()d from bench/CMakeLists.txt; needs the netcore::options target and Threads.
find_package(cppzmq REQUIRED)  # Debian's cppzmq-dev; its cppzmq target links libzmq
find_package(Threads REQUIRED)

add_library(netcore_bench_baselines STATIC ${CMAKE_CURRENT_LIST_DIR}/baselines.cpp)
target_include_directories(netcore_bench_baselines PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(netcore_bench_baselines PUBLIC netcore::options PRIVATE cppzmq Threads::Threads)

add_executable(netcore_baselines_bench ${CMAKE_CURRENT_LIST_DIR}/baselines_bench.cpp)
target_link_libraries(netcore_baselines_bench PRIVATE netcore_bench_baselines)
