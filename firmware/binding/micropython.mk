# _microtf as a MicroPython user C module (make-based ports: unix, qemu_m4, ...):
#   make USER_C_MODULES=<abs path>/firmware [MICROTF_OPS=conv_2d,fully_connected] [MICROTF_ARENA_SIZE=bytes]
# Builds the binding and the engine: every src/*.c, and the operator files
# named by MICROTF_OPS (default: every ops/*.c present). Operators left out
# are reported unsupported at run time.
MICROTF_ENGINE_DIR := $(patsubst %/binding,%/engine,$(USERMOD_DIR))
MICROTF_ARENA_SIZE ?= 65536
MICROTF_OPS ?=

microtf_comma := ,
ifeq ($(strip $(MICROTF_OPS)),)
MICROTF_OP_SRC := $(wildcard $(MICROTF_ENGINE_DIR)/ops/*.c)
else
MICROTF_OP_SRC := $(addprefix $(MICROTF_ENGINE_DIR)/ops/,$(addsuffix .c,$(subst $(microtf_comma), ,$(MICROTF_OPS))))
$(foreach f,$(MICROTF_OP_SRC),$(if $(wildcard $(f)),,$(error MICROTF_OPS: no operator file $(f))))
endif

# The binding is scanned for qstrs; the engine never includes MicroPython.
SRC_USERMOD_C += $(USERMOD_DIR)/modmicrotf.c
SRC_USERMOD_LIB_C += $(wildcard $(MICROTF_ENGINE_DIR)/src/*.c) $(MICROTF_OP_SRC)

# -ffp-contract=off: no fused multiply-add, so prepare-time float math rounds
# exactly as TFLite Micro's does (Cortex-M4F and others have VFMA).
CFLAGS_USERMOD += -I$(USERMOD_DIR) -I$(MICROTF_ENGINE_DIR)/include -I$(MICROTF_ENGINE_DIR)/src -I$(MICROTF_ENGINE_DIR)
CFLAGS_USERMOD += -DMICROTF_ARENA_SIZE=$(MICROTF_ARENA_SIZE) -ffp-contract=off

# Ports build with -Os; the engine files get MICROTF_OPT on top (set it empty to keep the
# port's flags). On qemu_m4, -O2 took 11-16% off the instructions per inference
# (gesture, micro_speech) for 6.5 KB more flash.
MICROTF_OPT ?= -O2
$(patsubst $(USER_C_MODULES)/%.c,$(BUILD)/%.o,$(SRC_USERMOD_LIB_C)): CFLAGS += $(MICROTF_OPT)
