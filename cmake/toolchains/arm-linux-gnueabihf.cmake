# Cross build for 32-bit ARM (Debian armhf: ARMv7, VFPv3-D16, no NEON in the baseline) with
# g++-arm-linux-gnueabihf: scripts/cross armhf.
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(DUST_CROSS_TRIPLET arm-linux-gnueabihf)
set(DUST_QEMU_ARCH arm)
set(DUST_DEB_ARCH armhf)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
# g++ notes on 32-bit ARM that passing some structs by value changed ABI in GCC 7.1: everything
# here is built by one compiler, so the note says nothing about this build.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
