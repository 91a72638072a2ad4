# `make package`: build/partita_<version>_amd64.deb (the service: binaries, deploy/, the
# systemd unit, /etc/partita/clickcount.toml as a conffile, a `partita` system user, state in
# /var/lib/partita) and build/partita-dev_<version>_amd64.deb (libraries, headers, the CMake
# package), with CPack. Dependencies on Debian's runtime libraries come from dpkg-shlibdeps.

# The documentation Debian asks of each package (for `make install` too).
execute_process(COMMAND gzip -9nc "${PROJECT_SOURCE_DIR}/cmake/debian/changelog"
                OUTPUT_FILE "${PROJECT_BINARY_DIR}/changelog.gz")
foreach(component service dev)
  set(pkg partita)
  if(component STREQUAL dev)
    set(pkg partita-dev)
  endif()
  install(FILES cmake/debian/copyright "${PROJECT_BINARY_DIR}/changelog.gz"
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${component})
endforeach()

# Installed to /usr (the package, or `make install PREFIX=/usr`): the systemd unit and the
# config file, at the places Debian keeps them (outside the prefix).
install(CODE "set(partita_deploy \"${PROJECT_SOURCE_DIR}/deploy\")" COMPONENT service)
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    file(READ "${partita_deploy}/partita-clickcount.service" unit)
    string(REPLACE "/usr/local/" "/usr/" unit "${unit}")
    file(WRITE "$ENV{DESTDIR}/lib/systemd/system/partita-clickcount.service" "${unit}")
    file(INSTALL "${partita_deploy}/clickcount.toml" DESTINATION "/etc/partita") # DESTDIR added
  endif()
]] COMPONENT service)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME partita)
set(CPACK_PACKAGE_VENDOR "the Partita developers")
set(CPACK_PACKAGE_CONTACT "Partita developers <partita@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "stateful Kafka stream processing in the actor model")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr) # with CPACK_SET_DESTDIR: the prefix the install scripts see
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL service dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/partita")

set(CPACK_DEBIAN_SERVICE_PACKAGE_NAME partita)
set(CPACK_DEBIAN_SERVICE_PACKAGE_DEPENDS "adduser")
set(CPACK_COMPONENT_SERVICE_DESCRIPTION
    "Partita runs Goka-style stream processors: each Kafka partition is a\nsupervised actor with its own LMDB state, recovered from a changelog\ntopic. This package holds the service binaries (partita-clickcount,\npartita-emit, partita-cluster), the systemd unit, its configuration file\nand Prometheus alert rules.")
set(CPACK_DEBIAN_SERVICE_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/cmake/debian/conffiles;${PROJECT_SOURCE_DIR}/cmake/debian/postinst;${PROJECT_SOURCE_DIR}/cmake/debian/prerm;${PROJECT_SOURCE_DIR}/cmake/debian/postrm")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME partita-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "partita (= ${PROJECT_VERSION}), libcaf-dev, librdkafka-dev, liblmdb-dev, libspdlog-dev, nlohmann-json3-dev, libcpp-httplib-dev, libcli11-dev, libtomlplusplus-dev, pkg-config, cmake")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "The development files of Partita: the libraries, headers and CMake\npackage (find_package(partita)) to build processors of one's own, and\npartita::tester to test their behaviors without Kafka.")

include(CPack)
