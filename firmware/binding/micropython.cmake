# _microtf as a MicroPython user C module for CMake ports (esp32, rp2):
#   make USER_C_MODULES=<abs path>/firmware/micropython.cmake [MICROTF_OPS=...] [MICROTF_ARENA_SIZE=...]
# Same sources and flags as micropython.mk: the binding, every engine src/*.c,
# and the operator files named by MICROTF_OPS (default: every ops/*.c).
add_library(usermod_microtf INTERFACE)

set(MICROTF_ENGINE_DIR ${CMAKE_CURRENT_LIST_DIR}/../engine)
if(NOT DEFINED MICROTF_ARENA_SIZE)
    set(MICROTF_ARENA_SIZE 65536)
endif()

file(GLOB MICROTF_CORE_SOURCES ${MICROTF_ENGINE_DIR}/src/*.c)
if(NOT MICROTF_OPS)
    file(GLOB MICROTF_OP_SOURCES ${MICROTF_ENGINE_DIR}/ops/*.c)
else()
    string(REPLACE "," ";" MICROTF_OP_LIST "${MICROTF_OPS}")
    set(MICROTF_OP_SOURCES "")
    foreach(op ${MICROTF_OP_LIST})
        if(NOT EXISTS ${MICROTF_ENGINE_DIR}/ops/${op}.c)
            message(FATAL_ERROR "MICROTF_OPS: no operator file ${MICROTF_ENGINE_DIR}/ops/${op}.c")
        endif()
        list(APPEND MICROTF_OP_SOURCES ${MICROTF_ENGINE_DIR}/ops/${op}.c)
    endforeach()
endif()

target_sources(usermod_microtf INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modmicrotf.c
    ${MICROTF_CORE_SOURCES}
    ${MICROTF_OP_SOURCES}
)

target_include_directories(usermod_microtf INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}
    ${MICROTF_ENGINE_DIR}/include
    ${MICROTF_ENGINE_DIR}/src
    ${MICROTF_ENGINE_DIR}
)

target_compile_definitions(usermod_microtf INTERFACE MICROTF_ARENA_SIZE=${MICROTF_ARENA_SIZE})
# No fused multiply-add: prepare-time float math must round as TFLite Micro's.
target_compile_options(usermod_microtf INTERFACE -ffp-contract=off)

# Ports build with -Os; the engine files get MICROTF_OPT on top, as in micropython.mk
# (set it to "" to keep the port's flags). The user module is include()d into the
# port's directory, so these source properties reach the target that compiles them.
if(NOT DEFINED MICROTF_OPT)
    set(MICROTF_OPT -O2)
endif()
if(MICROTF_OPT)
    set_source_files_properties(${MICROTF_CORE_SOURCES} ${MICROTF_OP_SOURCES}
        PROPERTIES COMPILE_OPTIONS "${MICROTF_OPT}")
endif()

target_link_libraries(usermod INTERFACE usermod_microtf)
