# `make install` (cmake --install): the service binaries, the libraries and headers, a CMake
# package (find_package(partita) then partita::partita), and the deployment files. Two
# components, which `make package` turns into two Debian packages (cmake/package.cmake):
# `service` (partita: the binaries, deploy/, the systemd unit, the config file) and `dev`
# (partita-dev: libraries, headers, the CMake package).
include(CMakePackageConfigHelpers)

install(TARGETS partita-clickcount partita-emit partita-cluster
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT service)
install(TARGETS partita partita_service partita_tester partita_actors partita_runtime
                partita_persistence
        EXPORT partitaTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
foreach(dir persistence runtime actors apps)
  install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/partita/${dir}
          COMPONENT dev FILES_MATCHING PATTERN "*.hpp")
endforeach()

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/partita)
install(EXPORT partitaTargets NAMESPACE partita:: DESTINATION ${config_dir} COMPONENT dev)
configure_package_config_file(cmake/partitaConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/partitaConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/partitaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/partitaConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/partitaConfigVersion.cmake
        DESTINATION ${config_dir} COMPONENT dev)
install(FILES cmake/dependencies.cmake DESTINATION ${config_dir}
        RENAME partita-dependencies.cmake COMPONENT dev)

install(DIRECTORY deploy/ DESTINATION ${CMAKE_INSTALL_DATADIR}/partita/deploy COMPONENT service)
