# Hushbox appliance image: make image / flash / rehearse.
# Included by the top-level Makefile; everything it runs lives in build/.
# Versions and sizes: build/versions.env.

IMAGE_OUT ?= build/out
IMAGE_NAME := $(if $(filter 1,$(DEBUG)),hushbox-debug,hushbox)
IMAGE_FILE ?= $(IMAGE_OUT)/$(IMAGE_NAME).img
REHEARSAL_BUDGET_S ?= $(shell sed -n 's/^REHEARSAL_BUDGET_S=//p' build/versions.env)
ROOTFS_BUDGET_S ?= $(shell sed -n 's/^ROOTFS_BUDGET_S=//p' build/versions.env)

.PHONY: image flash rehearse image-clean

## image: LinuxKit build + SD card image in build/out/hushbox.img (DEBUG=1: serial root shell)
image:
	@DEBUG=$(DEBUG) sh build/mkimage.sh $(IMAGE_OUT)

## flash: write the image to an SD card: make flash DEVICE=/dev/sdX [YES=1]
flash:
	@test -n "$(DEVICE)" || { echo "make flash: say which card: make flash DEVICE=/dev/sdX"; exit 1; }
	@python3 build/flash.py $(IMAGE_FILE) $(DEVICE) $(if $(filter 1,$(YES)),--yes,)

## rehearse: build the rootfs + SD image and boot it on an emulated Pi 3 (root, <= 15 min
## once the root filesystem base is cached; building that base has its own limit)
rehearse:
	@timeout --kill-after=30 $(ROOTFS_BUDGET_S) bash build/rehearse.sh --base-only || { \
	  status=$$?; \
	  if [ $$status -eq 124 ]; then echo "rehearse: FAILED: rootfs base over $(ROOTFS_BUDGET_S)s"; fi; \
	  exit $$status; }
	@timeout --kill-after=30 $(REHEARSAL_BUDGET_S) bash build/rehearse.sh || { \
	  status=$$?; \
	  if [ $$status -eq 124 ]; then echo "rehearse: FAILED: over the $(REHEARSAL_BUDGET_S)s budget"; fi; \
	  exit $$status; }

image-clean:
	rm -rf $(IMAGE_OUT)
