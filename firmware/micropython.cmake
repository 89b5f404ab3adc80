# Entry point for USER_C_MODULES on CMake ports (esp32, rp2):
#   make USER_C_MODULES=<abs path>/firmware/micropython.cmake
# Make ports take USER_C_MODULES=<abs path>/firmware and find binding/micropython.mk.
include(${CMAKE_CURRENT_LIST_DIR}/binding/micropython.cmake)
