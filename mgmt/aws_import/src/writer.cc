// Writing the fragment and the PSK files as one all-or-nothing step: every file goes to a
// temporary created O_EXCL|O_NOFOLLOW with its final restrictive mode from the start, then all
// are renamed into place; any failure removes what was created and restores what was replaced.
#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crossgate/common/unique_fd.h"
#include "crossgate/mgmt/aws_import.h"

namespace crossgate::aws_import {
namespace {

namespace fs = std::filesystem;

Error ioError(const fs::path& path, std::string_view what, int err) {
  return makeError(Errc::kIo, path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

struct PlannedFile {
  fs::path target;
  std::string_view content;
  mode_t mode;
  fs::path temp;
  fs::path backup;  // hard link to the replaced file (force only)
  bool renamed = false;
};

// Owns everything created on disk until commit(); the destructor undoes an uncommitted write.
class Transaction {
 public:
  ~Transaction() {
    if (!committed_) {
      rollback();
    }
  }

  Status makeDir(const fs::path& dir, mode_t mode) {
    if (::mkdir(dir.c_str(), mode) != 0) {
      return ioError(dir, "cannot create directory", errno);
    }
    created_dirs_.push_back(dir);
    if (::chmod(dir.c_str(), mode) != 0) {  // exact mode whatever the umask
      return ioError(dir, "cannot set mode", errno);
    }
    return okStatus();
  }

  Status writeTemp(PlannedFile& f) {
    static std::mt19937_64 rng{std::random_device{}()};
    UniqueFd fd;
    for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
      char suffix[24];
      std::snprintf(suffix, sizeof(suffix), ".tmp-%016llx", static_cast<unsigned long long>(rng()));
      f.temp = f.target.parent_path() / ("." + f.target.filename().string() + suffix);
      fd.reset(::open(f.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!fd && errno != EEXIST) {
        return ioError(f.temp, "cannot create", errno);
      }
    }
    if (!fd) {
      return ioError(f.temp, "cannot create", EEXIST);
    }
    temps_.push_back(f.temp);
    size_t done = 0;
    while (done < f.content.size()) {
      const ssize_t n = ::write(fd.get(), f.content.data() + done, f.content.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return ioError(f.temp, "cannot write", n < 0 ? errno : EIO);
      }
      done += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), f.mode) != 0 || ::fsync(fd.get()) != 0) {
      return ioError(f.temp, "cannot finish", errno);
    }
    return okStatus();
  }

  Status backup(PlannedFile& f) {
    f.backup = f.temp.string() + ".old";
    if (::link(f.target.c_str(), f.backup.c_str()) != 0) {
      const int err = errno;
      f.backup.clear();
      return ioError(f.target, "cannot keep a copy of the file being replaced", err);
    }
    return okStatus();
  }

  Status install(PlannedFile& f, bool force) {
    const unsigned flags = force ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, f.temp.c_str(), AT_FDCWD, f.target.c_str(), flags) != 0) {
      const int err = errno;
      return err == EEXIST ? makeError(Errc::kAlreadyExists,
                                       f.target.string() + ": appeared while writing; not replaced")
                           : ioError(f.target, "cannot rename into place", err);
    }
    std::erase(temps_, f.temp);
    f.renamed = true;
    installed_.push_back(&f);
    return okStatus();
  }

  void commit(const std::vector<PlannedFile>& files) {
    committed_ = true;
    for (const PlannedFile& f : files) {
      if (!f.backup.empty()) {
        ::unlink(f.backup.c_str());
      }
    }
  }

 private:
  void rollback() {
    for (auto it = installed_.rbegin(); it != installed_.rend(); ++it) {
      PlannedFile& f = **it;
      if (!f.backup.empty() && ::rename(f.backup.c_str(), f.target.c_str()) == 0) {
        f.backup.clear();
      } else {
        ::unlink(f.target.c_str());
      }
    }
    for (const fs::path& p : temps_) {
      ::unlink(p.c_str());
      ::unlink((p.string() + ".old").c_str());
    }
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
      ::rmdir(it->c_str());
    }
  }

  bool committed_ = false;
  std::vector<fs::path> created_dirs_;
  std::vector<fs::path> temps_;
  std::vector<PlannedFile*> installed_;
};

// Whether `path` exists (not following a final symlink), refusing the wrong kind of file.
Result<bool> fileExists(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Result<bool>(false) : ioError(path, "cannot inspect", errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return makeError(Errc::kInvalidArgument, path.string() + ": is a directory");
  }
  return true;
}

// Whether the output directory exists (a symlink to a directory is fine).
Result<bool> outDirExists(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return errno == ENOENT ? Result<bool>(false) : ioError(dir, "cannot inspect", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return makeError(Errc::kInvalidArgument, dir.string() + ": exists and is not a directory");
  }
  return true;
}

// Whether the key directory exists; it must be a real directory closed to other users.
Result<bool> keyDirExists(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return errno == ENOENT ? Result<bool>(false) : ioError(dir, "cannot inspect", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return makeError(Errc::kInvalidArgument,
                     dir.string() + ": exists and is not a directory (symlinks are refused)");
  }
  if ((st.st_mode & 077) != 0) {
    return makeError(Errc::kPermissionDenied,
                     dir.string() + ": mode " + octal(st.st_mode) +
                         " lets other users in; the key directory must be 0700 (chmod 700 " +
                         dir.string() + ")");
  }
  return true;
}

}  // namespace

Result<std::vector<uint32_t>> usedIfIds(const fs::path& dir, const fs::path& skip) {
  std::vector<uint32_t> used;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return used;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".toml" && entry.is_regular_file(ec) &&
        entry.path().filename() != skip.filename()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    toml::table doc;
    try {
      doc = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
      return makeError(Errc::kParse,
                       file.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()) +
                           "; cannot tell which if_ids are free (pass --if-id-base N)");
    }
    if (const toml::array* vpns = doc["vpn"].as_array()) {
      for (const toml::node& vpn : *vpns) {
        const toml::array* tunnels =
            vpn.as_table() ? (*vpn.as_table())["tunnel"].as_array() : nullptr;
        for (size_t i = 0; tunnels != nullptr && i < tunnels->size(); ++i) {
          const toml::table* t = (*tunnels)[i].as_table();
          if (auto id = t ? (*t)["if_id"].value<int64_t>() : std::nullopt;
              id && *id > 0 && *id <= UINT32_MAX) {
            used.push_back(static_cast<uint32_t>(*id));
          }
        }
      }
    }
  }
  return used;
}

std::vector<uint32_t> lowestFreeIfIds(const std::vector<uint32_t>& used, size_t count) {
  const std::set<uint32_t> taken(used.begin(), used.end());
  std::vector<uint32_t> out;
  for (uint32_t id = 1; out.size() < count; ++id) {
    if (taken.count(id) == 0) {
      out.push_back(id);
    }
  }
  return out;
}

namespace {

struct Targets {
  bool dir_exists = false;
  bool secrets_exist = false;
  std::vector<bool> replace;  // per file: an existing file will be replaced (force)
};

// Inspects every path before anything is written; without force an existing file is an error
// that lists all of them.
Result<Targets> inspect(const fs::path& dir, const fs::path& secrets,
                        const std::vector<PlannedFile>& files, bool force) {
  Targets t;
  auto dir_exists = outDirExists(dir);
  if (!dir_exists.ok()) {
    return dir_exists.error();
  }
  t.dir_exists = *dir_exists;
  if (t.dir_exists) {
    auto secrets_exist = keyDirExists(secrets);
    if (!secrets_exist.ok()) {
      return secrets_exist.error();
    }
    t.secrets_exist = *secrets_exist;
  }
  std::string clashes;
  for (const PlannedFile& f : files) {
    const bool parent_exists = f.target.parent_path() == dir ? t.dir_exists : t.secrets_exist;
    auto e = parent_exists ? fileExists(f.target) : Result<bool>(false);
    if (!e.ok()) {
      return e.error();
    }
    t.replace.push_back(*e);
    if (*e && !force) {
      clashes += (clashes.empty() ? "" : ", ") + f.target.string();
    }
  }
  if (!clashes.empty()) {
    return makeError(Errc::kAlreadyExists,
                     "would overwrite " + clashes + "; nothing written (use --force to replace)");
  }
  return t;
}

Status execute(Transaction& tx, const fs::path& dir, const fs::path& secrets,
               std::vector<PlannedFile>& files, const Targets& targets, bool force) {
  if (!targets.dir_exists) {
    if (auto s = tx.makeDir(dir, 0755); !s.ok()) {
      return s;
    }
  }
  if (!targets.secrets_exist) {
    if (auto s = tx.makeDir(secrets, 0700); !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (auto s = tx.writeTemp(files[i]); !s.ok()) {
      return s;
    }
    if (targets.replace[i]) {
      if (auto s = tx.backup(files[i]); !s.ok()) {
        return s;
      }
    }
  }
  for (PlannedFile& f : files) {  // keys first: the fragment never names a missing file
    if (auto s = tx.install(f, force); !s.ok()) {
      return s;
    }
  }
  for (const fs::path& d : {secrets, dir}) {
    UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) {
      ::fsync(fd.get());
    }
  }
  return okStatus();
}

}  // namespace

Result<std::vector<fs::path>> writeFragment(const fs::path& dir, const Connection& connection,
                                            const FragmentOptions& options,
                                            const WriteOptions& write_options) {
  if (!isValidName(options.name)) {
    return makeError(Errc::kInvalidArgument,
                     "name \"" + options.name + "\" must be 1-32 characters of a-z 0-9 -");
  }
  const std::string toml_text = renderToml(connection, options);
  const fs::path secrets = dir / "secrets";
  std::vector<PlannedFile> files;
  for (size_t i = 0; i < connection.tunnels.size(); ++i) {
    files.push_back({secrets / (tunnelName(options.name, i) + ".psk"),
                     connection.tunnels[i].psk.view(),
                     0600,
                     {},
                     {},
                     false});
  }
  files.push_back({dir / (options.name + ".toml"), toml_text, 0644, {}, {}, false});
  auto targets = inspect(dir, secrets, files, write_options.force);
  if (!targets.ok()) {
    return targets.error();
  }
  Transaction tx;
  if (auto s = execute(tx, dir, secrets, files, *targets, write_options.force); !s.ok()) {
    return s.error();
  }
  tx.commit(files);
  std::vector<fs::path> written;
  for (const PlannedFile& f : files) {
    written.push_back(f.target);
  }
  return written;
}

}  // namespace crossgate::aws_import
