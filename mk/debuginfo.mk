# Shared by kvp-ffi/Makefile and kvp-cli/Makefile: how an installed binary
# loses its debug information and where that information goes.
#
# `make install` installs stripped binaries, each with a .gnu_debuglink to a
# FILE.debug kept in the cargo build directory (objcopy --only-keep-debug);
# `make install-debug` installs those files too, into a .debug directory
# beside the binaries, where gdb looks for them. Packaging passes STRIP=
# (empty) to install unstripped binaries and lets its own tools split the
# debug information: dh_strip into -dbgsym packages, rpmbuild's
# find-debuginfo into -debuginfo packages.

STRIP   ?= strip
OBJCOPY ?= objcopy

# $(call install_stripped,BUILT,INSTALLED,DEBUG_FILE,STRIP_OPTIONS)
define install_stripped
	$(INSTALL) -m 0755 '$(1)' '$(2)'
	$(if $(STRIP),$(OBJCOPY) --only-keep-debug '$(1)' '$(3)')
	$(if $(STRIP),$(STRIP) $(4) '$(2)')
	$(if $(STRIP),$(OBJCOPY) --add-gnu-debuglink='$(3)' '$(2)')
endef

# $(call install_debug_file,DEBUG_FILE,DIRECTORY)
define install_debug_file
	@test -n '$(STRIP)' || { echo 'install-debug: nothing to install with STRIP= (unstripped install)' >&2; exit 1; }
	$(INSTALL) -d '$(2)/.debug'
	$(INSTALL) -m 0644 '$(1)' '$(2)/.debug/'
endef
