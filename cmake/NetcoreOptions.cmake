# netcore::options -- the language standard, warnings and sanitizer flags every netcore target links.
add_library(netcore_options INTERFACE)
add_library(netcore::options ALIAS netcore_options)
target_compile_features(netcore_options INTERFACE cxx_std_17)
set(CMAKE_CXX_EXTENSIONS OFF)

target_compile_options(netcore_options INTERFACE
  $<BUILD_INTERFACE:-Wall -Wextra -Wpedantic>
  $<BUILD_INTERFACE:$<$<BOOL:${NETCORE_WERROR}>:-Werror>>)

if(NETCORE_SANITIZE)
  # -fno-sanitize=null: CAF 0.17's init_fun_factory binds a null reference on function-based spawns.
  set(_netcore_san -fsanitize=address,undefined -fno-sanitize=null -fno-omit-frame-pointer
                   -fno-sanitize-recover=undefined)
  target_compile_options(netcore_options INTERFACE $<BUILD_INTERFACE:${_netcore_san}>)
  target_link_options(netcore_options INTERFACE $<BUILD_INTERFACE:${_netcore_san}>)
endif()
