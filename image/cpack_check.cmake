# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): runs on the staged package tree before the
# .deb is made. Drops programs that are not part of the product, fails if a product file is
# missing, and runs `--help` of every command so a package never ships a binary that cannot start.
set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
if(NOT IS_DIRECTORY "${root}/usr/bin")
  message(FATAL_ERROR "crossgate package check: no usr/bin under the staging directory '${root}'")
endif()

# Build and benchmark helpers that crossgate_add_executable installs along with the product.
file(GLOB extra "${root}/usr/bin/*")
foreach(path IN LISTS extra)
  get_filename_component(name "${path}" NAME)
  if(NOT name MATCHES "^crossgate(d|-dns|-dataplane)?$")
    message(STATUS "crossgate package check: not packaging usr/bin/${name}")
    file(REMOVE "${path}")
  endif()
endforeach()

set(required
  usr/bin/crossgate usr/bin/crossgated usr/bin/crossgate-dns usr/bin/crossgate-dataplane
  usr/lib/crossgate/crossgate-firstboot
  lib/systemd/system/crossgate-dataplane.service lib/systemd/system/crossgated.service
  lib/systemd/system/crossgate-dns.service lib/systemd/system/crossgate-firstboot.service
  lib/systemd/system/strongswan.service.d/crossgate.conf
  usr/lib/sysctl.d/60-crossgate.conf etc/crossgate/crossgate.toml etc/crossgate/nftables.nft)
if(CPACK_CROSSGATE_REQUIRE_PLUGIN)
  list(APPEND required usr/lib/ipsec/plugins/libstrongswan-crossgate.so
                       etc/strongswan.d/charon/crossgate.conf)
endif()
set(missing "")
foreach(f IN LISTS required)
  if(NOT EXISTS "${root}/${f}")
    list(APPEND missing "${f}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "crossgate package check: missing from the package: ${missing}")
endif()

foreach(cmd crossgate crossgated crossgate-dns crossgate-dataplane)
  execute_process(COMMAND "${root}/usr/bin/${cmd}" --help
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "Usage:")
    message(FATAL_ERROR "crossgate package check: `${cmd} --help` failed (${rc}): ${out}${err}")
  endif()
endforeach()
message(STATUS "crossgate package check: all product files present, --help works for every command")
