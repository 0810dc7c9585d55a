# cpack's project config file (CPACK_PROJECT_CONFIG_FILE) for cross builds, read by the running
# cpack before it packages (cmake/Packaging.cmake sets the CPACK_DUST_* variables). cpack runs
# dpkg-shlibdeps as a child process, so the environment set here is what it sees:
# - DEB_HOST_ARCH: dpkg-shlibdeps then reads the target's ELF files with <triplet>-objdump, looks
#   in the target's multiarch directories and applies the symbols files' entries for the target.
# - DPKG_ADMINDIR: the dpkg-query it runs to find the package of each library and that
#   package's shlibs/symbols file reads the sysroot's database (scripts/cross records it).
if(CPACK_DUST_DEB_HOST_ARCH)
  set(ENV{DEB_HOST_ARCH} ${CPACK_DUST_DEB_HOST_ARCH})
endif()
if(CPACK_DUST_DPKG_ADMINDIR)
  if(NOT EXISTS ${CPACK_DUST_DPKG_ADMINDIR}/status)
    message(FATAL_ERROR "${CPACK_DUST_DPKG_ADMINDIR}/status is missing: the sysroot predates its "
                        "package database; run scripts/cross again to remake it")
  endif()
  set(ENV{DPKG_ADMINDIR} ${CPACK_DUST_DPKG_ADMINDIR})
endif()
