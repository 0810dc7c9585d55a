# Cross build for 64-bit ARM (Debian arm64) with g++-aarch64-linux-gnu: scripts/cross arm64.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(DUST_CROSS_TRIPLET aarch64-linux-gnu)
set(DUST_QEMU_ARCH aarch64)
set(DUST_DEB_ARCH arm64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
