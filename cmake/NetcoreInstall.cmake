# Installs the libraries, their public headers and a CMake package (find_package(netcore)).
include(CMakePackageConfigHelpers)

set(_netcore_targets netcore_options netcore_protocol netcore_session netcore_app)
if(NETCORE_BUILD_RUNTIME)
  list(APPEND _netcore_targets netcore_transports netcore_actors)
endif()

install(TARGETS ${_netcore_targets} EXPORT netcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY protocol/include/ session/include/ app/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(NETCORE_BUILD_RUNTIME)
  install(DIRECTORY actors/include/ transports/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()

set(_netcore_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/netcore)
install(EXPORT netcoreTargets NAMESPACE netcore:: DESTINATION ${_netcore_cmake_dir})
configure_package_config_file(cmake/netcoreConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/netcoreConfig.cmake
                              INSTALL_DESTINATION ${_netcore_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/netcoreConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/netcoreConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/netcoreConfigVersion.cmake cmake/FindCAF.cmake
              cmake/Findxxhash.cmake cmake/Findzstd.cmake cmake/Findisal.cmake
        DESTINATION ${_netcore_cmake_dir})
