// Fuzz target: the AWS Generic text file importer.
#include <cstddef>
#include <cstdint>

#include "aws_import_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crossgate::aws_import::fuzz::importAndRender({reinterpret_cast<const char*>(data), size},
                                               /*xml=*/false);
  return 0;
}
