# Documentation install rules and the Debian package (cpack -G DEB), included from the top
# level after every subdirectory, so that cpack packages everything their rules install.
#
# The package is built for the /usr prefix whatever the build tree was configured with:
# CPACK_SET_DESTDIR makes cpack run the install rules with CMAKE_INSTALL_PREFIX=/usr into a
# staging DESTDIR, and the rules that depend on the prefix (the unit's ExecStart, the config in
# /etc) decide at install time (cmake/DustInstallPaths.cmake).
#
#   cmake --build build && (cd build && cpack -G DEB)   ->  build/neural-dust_<ver>_<arch>.deb

set(DUST_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/packaging/debian)
set(DUST_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/neural-dust)

# --- documentation: /usr/share/doc/neural-dust -------------------------------------------------
file(GLOB DUST_DOC_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
if(EXISTS ${PROJECT_SOURCE_DIR}/README.md)
  list(PREPEND DUST_DOC_FILES ${PROJECT_SOURCE_DIR}/README.md)
endif()
install(FILES ${DUST_DOC_FILES} DESTINATION ${DUST_DOCDIR})
install(FILES ${DUST_DEBIAN_DIR}/copyright DESTINATION ${DUST_DOCDIR})

# Debian wants changelog.gz compressed with -9 and without a time stamp or file name (-n), so
# that the package is reproducible. Regenerated whenever packaging/debian/changelog changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${DUST_DEBIAN_DIR}/changelog)
execute_process(COMMAND gzip -9 -n -c ${DUST_DEBIAN_DIR}/changelog
                OUTPUT_FILE ${PROJECT_BINARY_DIR}/changelog.gz RESULT_VARIABLE dust_gzip_result)
if(NOT dust_gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip packaging/debian/changelog failed: ${dust_gzip_result}")
endif()
install(FILES ${PROJECT_BINARY_DIR}/changelog.gz DESTINATION ${DUST_DOCDIR})

# The newest changelog entry must be this version: lintian and dpkg read it.
file(STRINGS ${DUST_DEBIAN_DIR}/changelog dust_changelog_head LIMIT_COUNT 1)
if(NOT dust_changelog_head MATCHES "^neural-dust \\(${PROJECT_VERSION}\\) ")
  message(WARNING "packaging/debian/changelog: the newest entry is '${dust_changelog_head}', "
                  "not version ${PROJECT_VERSION}: add an entry for it")
endif()

# --- the Debian package ------------------------------------------------------------------------
set(DUST_DEB_MAINTAINER "Neural Dust maintainers <maintainers@neural-dust.example>"
    CACHE STRING "The Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME neural-dust)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${DUST_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "serverless collaborative learning for small devices")
# The extended description, without the synopsis (CPACK_PACKAGE_DESCRIPTION_SUMMARY): cpack
# indents each line and writes an empty line as " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Every device runs dustd, a peer daemon that trains a small neural network on
the samples in a local data directory and gossips Ed25519-signed, compressed
model updates over UDP broadcast on the LAN. It merges the updates of the
peers it trusts, so every device ends up with a model that learned from
everyone's data while no raw sample leaves its device.

This package ships dustd as a hardened systemd service running as the
unprivileged user dust, and dustctl, which administers it over a Unix
socket (status, peers, pairing and trust, pause and resume, model export).")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Library dependencies computed by dpkg-shlibdeps from the binaries; plus the tools postinst
# runs (sysusers and tmpfiles: from systemd, or their standalone packages).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd | systemd-standalone-sysusers | systemd-sysusers, systemd | systemd-standalone-tmpfiles | systemd-tmpfiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${DUST_DEBIAN_DIR}/conffiles ${DUST_DEBIAN_DIR}/postinst ${DUST_DEBIAN_DIR}/prerm
    ${DUST_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)  # with CMAKE_STRIP: the cross toolchain's strip in a cross build

# A cross build (cmake/toolchains/*.cmake, scripts/cross) makes the package of the target's
# Debian architecture, and dpkg-shlibdeps computes its Depends from the target's packages, not
# from the host's dpkg database (whose libraries are the host's: scripts/cross never installs the
# target's there). What the running cpack needs for that is set in DebCross.cmake
# (CPACK_PROJECT_CONFIG_FILE).
if(CMAKE_CROSSCOMPILING)
  if(NOT DUST_DEB_ARCH)
    message(FATAL_ERROR "cross build without DUST_DEB_ARCH: use cmake/toolchains/*.cmake")
  endif()
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${DUST_DEB_ARCH})
  set(CPACK_DUST_DEB_HOST_ARCH ${DUST_DEB_ARCH})
  if(DUST_CROSS_SYSROOT)
    # scripts/cross records the sysroot's packages there; its file lists name the libraries
    # under the sysroot, where -l makes dpkg-shlibdeps look before the host's directories.
    set(CPACK_DUST_DPKG_ADMINDIR ${DUST_CROSS_SYSROOT}/var/lib/dpkg)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
        ${DUST_CROSS_SYSROOT}/lib/${DUST_CROSS_TRIPLET}
        ${DUST_CROSS_SYSROOT}/usr/lib/${DUST_CROSS_TRIPLET})
  endif()
  set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/DebCross.cmake)
endif()
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/DebPreBuild.cmake)

set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Absolute destinations (the unit, sysusers/tmpfiles, /etc) are intended; see above.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)

include(CPack)
