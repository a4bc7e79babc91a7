# Installation and the Debian package (CPack): `cmake --install` puts the binary in
# ${prefix}/bin, the example config in /etc/ferry, the systemd unit and the docs;
# `cpack -G DEB` in a Release build dir makes ferry_<version>_<arch>.deb with its
# dependencies from dpkg-shlibdeps (docs/packaging.md, scripts/deb).
include(GNUInstallDirs)
install(TARGETS ferry RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES packaging/ferry.yaml DESTINATION /etc/ferry)
install(FILES packaging/systemd/ferry.service DESTINATION /lib/systemd/system)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES examples/compose.yaml examples/demo.yaml examples/compose-shared.yaml
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Ferry")
set(CPACK_PACKAGE_CONTACT "Ferry maintainers <ferry@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "MQTT bridge and message router for IoT data (LoRaWAN uplinks to Kafka and webhooks)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# /etc/ferry/ferry.yaml is a conffile: an upgrade keeps the administrator's edits
file(WRITE ${CMAKE_BINARY_DIR}/conffiles "/etc/ferry/ferry.yaml\n")
list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/conffiles)
include(CPack)
