# cpack pre-build script (CPACK_PRE_BUILD_SCRIPTS): runs on the staging tree after the install
# rules and before the .deb is made. Debian policy 12.1 wants manual pages compressed with
# `gzip -9n` (lintian: uncompressed-manual-page, an error); the install rules install them
# plain, which is what `cmake --install` into /usr/local should do.
file(GLOB_RECURSE dust_man_pages LIST_DIRECTORIES false
     "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/share/man/man[1-9]/*.[1-9]")
foreach(page IN LISTS dust_man_pages)
  execute_process(COMMAND gzip -9 -n -f "${page}" RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${page} failed: ${result}")
  endif()
endforeach()
