# StrongswanSource.cmake: strongSwan headers and config.h for exactly the installed strongSwan.
#
# At configure time runs scripts/fetch-strongswan-source into ${CMAKE_BINARY_DIR}/_deps/strongswan
# (Debian's source package of the installed version, Debian's patches applied, config.h from
# Debian's configure flags). The run is skipped when the cached stamp names the installed version;
# CMake re-runs itself when the installed libstrongswan package changes.
#
# Provides the INTERFACE target crossgate::strongswan_headers:
#   -include <src>/config.h -I <src>/src/libstrongswan -I <src>/src/libcharon
#
# Options:
#   CROSSGATE_STRONGSWAN_REVISION_FALLBACK  use the source of the same upstream version with
#     another Debian revision when the exact one is not on the mirror (loud warning).
include_guard(GLOBAL)

option(CROSSGATE_STRONGSWAN_REVISION_FALLBACK
  "Allow strongSwan source of the same upstream version but another Debian revision" ON)
set(CROSSGATE_STRONGSWAN_DIR "${CMAKE_BINARY_DIR}/_deps/strongswan" CACHE PATH
  "Where the strongSwan source for the plugin is fetched and cached")

function(_crossgate_strongswan_fetch)
  execute_process(COMMAND dpkg-query -W -f=\${Version} libstrongswan
    OUTPUT_VARIABLE installed RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0 OR installed STREQUAL "")
    message(FATAL_ERROR "strongSwan is not installed (dpkg-query libstrongswan failed); install "
      "strongswan-charon, or configure with -DCROSSGATE_BUILD_PLUGIN=OFF")
  endif()
  # Re-configure when the package changes (its dpkg file list is rewritten on upgrade).
  file(GLOB lists /var/lib/dpkg/info/libstrongswan.list /var/lib/dpkg/info/libstrongswan:*.list)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${lists}
    ${CMAKE_SOURCE_DIR}/scripts/fetch-strongswan-source)

  set(dir "${CROSSGATE_STRONGSWAN_DIR}")
  set(stamp_ok FALSE)
  if(EXISTS "${dir}/stamp" AND EXISTS "${dir}/src/config.h")
    file(STRINGS "${dir}/stamp" stamp)
    list(GET stamp 0 cached)
    if(cached STREQUAL installed)
      set(stamp_ok TRUE)
    endif()
  endif()
  if(NOT stamp_ok)
    message(STATUS "Fetching strongSwan ${installed} source for the charon plugin into ${dir}")
    if(CROSSGATE_STRONGSWAN_REVISION_FALLBACK)
      set(fallback 1)
    else()
      set(fallback 0)
    endif()
    string(TIMESTAMP t0 "%s")
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env CG_STRONGSWAN_REVISION_FALLBACK=${fallback}
              ${CMAKE_SOURCE_DIR}/scripts/fetch-strongswan-source "${dir}"
      RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
    string(TIMESTAMP t1 "%s")
    math(EXPR secs "${t1} - ${t0}")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "Fetching the strongSwan source for the charon plugin failed:\n${err}\n"
        "Fix the cause above, or configure with -DCROSSGATE_BUILD_PLUGIN=OFF to build without the "
        "plugin.")
    endif()
    message(STATUS "strongSwan source ready in ${secs} s")
  endif()
  file(STRINGS "${dir}/stamp" stamp)
  list(GET stamp 1 fetched)
  if(NOT fetched STREQUAL installed)
    message(WARNING "The charon plugin is built against strongSwan ${fetched} source; the "
      "installed version is ${installed} (the mirror does not carry its source). Same upstream "
      "version, different Debian revision. Set -DCROSSGATE_STRONGSWAN_REVISION_FALLBACK=OFF to "
      "require the exact version.")
  endif()
  set(CROSSGATE_STRONGSWAN_VERSION "${installed}" PARENT_SCOPE)
endfunction()

_crossgate_strongswan_fetch()

if(NOT TARGET crossgate::strongswan_headers)
  add_library(crossgate_strongswan_headers INTERFACE)
  add_library(crossgate::strongswan_headers ALIAS crossgate_strongswan_headers)
  target_include_directories(crossgate_strongswan_headers SYSTEM INTERFACE
    "${CROSSGATE_STRONGSWAN_DIR}/src/src/libstrongswan"
    "${CROSSGATE_STRONGSWAN_DIR}/src/src/libcharon")
  target_compile_options(crossgate_strongswan_headers INTERFACE
    "SHELL:-include ${CROSSGATE_STRONGSWAN_DIR}/src/config.h")
endif()
