# Shared part of the Debian cross toolchains (aarch64-linux-gnu.cmake and arm-linux-gnueabihf.cmake
# set DUST_CROSS_TRIPLET, DUST_QEMU_ARCH, DUST_DEB_ARCH (the Debian architecture: the .deb's
# Architecture) and CMAKE_SYSTEM_PROCESSOR, then include this). The target's libraries come from
# one of two places (scripts/cross makes either):
# - multiarch (default): `dpkg --add-architecture` installed the target's -dev packages into
#   /usr/include and /usr/lib/<triplet>, where Debian's cross compilers (g++-<triplet>) look
#   anyway; CMake only needs CMAKE_LIBRARY_ARCHITECTURE and the triplet's pkg-config wrapper.
# - a sysroot (-DDUST_CROSS_SYSROOT=DIR): the target's packages unpacked into DIR, untouched by
#   the host's dpkg. Multiarch ties every foreign library to the exact version of the host's copy
#   (Multi-Arch: same), so it fails whenever the mirror's per-architecture indexes disagree.
# Programs that run during the build (protoc) are the host's in both.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${DUST_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${DUST_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${DUST_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")

set(DUST_CROSS_SYSROOT "" CACHE PATH "the target's unpacked packages (empty: multiarch in /usr)")
if(DUST_CROSS_SYSROOT)
  set(CMAKE_SYSROOT ${DUST_CROSS_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH ${DUST_CROSS_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${DUST_CROSS_SYSROOT})
  set(_dust_arch_pc ${DUST_CROSS_SYSROOT}/usr/lib/${DUST_CROSS_TRIPLET}/pkgconfig)
  set(ENV{PKG_CONFIG_LIBDIR} "${_dust_arch_pc}:${DUST_CROSS_SYSROOT}/usr/share/pkgconfig")
  set(DUST_QEMU_LD_PREFIX ${DUST_CROSS_SYSROOT})
else()
  set(CMAKE_FIND_ROOT_PATH /usr/${DUST_CROSS_TRIPLET})
  set(PKG_CONFIG_EXECUTABLE ${DUST_CROSS_TRIPLET}-pkg-config CACHE FILEPATH "")
  set(DUST_QEMU_LD_PREFIX /usr/${DUST_CROSS_TRIPLET})
endif()

# ctest (and catch_discover_tests at build time) run the target's binaries under user-mode qemu;
# -L points the emulated dynamic loader at the target's libraries, so binfmt_misc is not needed.
find_program(DUST_QEMU qemu-${DUST_QEMU_ARCH}-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${DUST_QEMU} -L ${DUST_QEMU_LD_PREFIX})
