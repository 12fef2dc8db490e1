// Helpers for the AWS importer tests: the sample files (copied into samples/ next to the
// tests), text surgery on them, and temporary directories.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace crossgate::aws_import::test {

inline std::filesystem::path samplesDir() { return CROSSGATE_AWS_SAMPLES; }

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string sample(std::string_view name) { return readFile(samplesDir() / name); }

inline constexpr std::string_view k01 = "01_cloudneta_static_ikev1_generic.txt";
inline constexpr std::string_view k02 = "02_awsdocs_GenericConfig_BGP_ikev1_docexample.txt";
inline constexpr std::string_view k03 = "03_awsdocs_GenericConfigNoBGP_static_ikev1_docexample.txt";
inline constexpr std::string_view k04 =
    "04_cloudwanderer_CustomerGatewayConfiguration_BGP_ikev1.xml";
inline constexpr std::string_view k05 = "05_synthetic_ikev2_static.txt";
inline constexpr std::string_view k06 = "06_synthetic_bgp.xml";

// Lines without their '\n' (a final line without one is kept).
inline std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

inline std::string joinLines(const std::vector<std::string>& lines, std::string_view eol = "\n") {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += eol;
  }
  return out;
}

// Replaces exactly `count` occurrences (all of them when count is 0); fails the test if the
// text has a different number, so a changed sample cannot silently make a test vacuous.
inline std::string replaceAll(std::string text, std::string_view from, std::string_view to,
                              size_t count = 0) {
  size_t found = 0;
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
    ++found;
  }
  EXPECT_GT(found, 0u) << "'" << from << "' not in the text";
  if (count != 0) {
    EXPECT_EQ(found, count) << "'" << from << "'";
  }
  return text;
}

// Replaces only the n-th occurrence (1-based); fails the test if there is none.
inline std::string replaceNth(std::string text, std::string_view from, std::string_view to,
                              size_t n) {
  size_t pos = std::string::npos;
  for (size_t i = 0; i < n; ++i) {
    pos = text.find(from, pos == std::string::npos ? 0 : pos + from.size());
    if (pos == std::string::npos) {
      ADD_FAILURE() << "'" << from << "' occurs fewer than " << n << " times";
      return text;
    }
  }
  return text.replace(pos, from.size(), to);
}

// 1-based number of the first line equal to `line` at or after `from`.
inline size_t lineOf(const std::vector<std::string>& lines, std::string_view line,
                     size_t from = 1) {
  for (size_t i = from - 1; i < lines.size(); ++i) {
    if (lines[i] == line) {
      return i + 1;
    }
  }
  ADD_FAILURE() << "no line '" << line << "'";
  return 0;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cg-aws-import-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace crossgate::aws_import::test
