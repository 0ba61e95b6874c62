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

if(NETCORE_TSAN)
  if(NETCORE_SANITIZE)
    message(FATAL_ERROR "NETCORE_TSAN and NETCORE_SANITIZE cannot be combined")
  endif()
  # Only meaningful against a CAF compiled with -fsanitize=thread (./dev test --tsan builds one):
  # TSan cannot see the synchronisation inside an uninstrumented CAF.
  # -Wno-tsan: asio's atomic_thread_fence calls, which TSan does not model, warn in every file
  # that includes asio.
  set(_netcore_tsan -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  target_compile_options(netcore_options INTERFACE $<BUILD_INTERFACE:${_netcore_tsan}>)
  target_link_options(netcore_options INTERFACE $<BUILD_INTERFACE:${_netcore_tsan}>)
endif()
