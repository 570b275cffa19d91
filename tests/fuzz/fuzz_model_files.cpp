// libFuzzer target for the parsers that read model files from strangers. The first input
// byte picks the parser, the rest is the file:
//   0  a safetensors file (header, offsets, dtypes; every tensor is then read)
//   1  a pickle, through the restricted unpickler
//   2  a Prisma config (configFromJson), parsed by the project's one JSON reader (depth
//      and size limits included)
//   3  a config.json beside real fixture weights, through loadModel's detection and the
//      Hugging Face / CLIP / timm / ViT-Prisma / legacy-mouse config parsers
//   4  a pickle as the data.pkl of a torch.save archive with four small storages, through
//      TorchArchive: every tensor view is checked against its storage, the file and the
//      memory budget (stride 0 included)
// A parser may only answer with prisma::Error; any other exception aborts, so the fuzzer
// reports it like a crash, as it does AddressSanitizer and UBSan findings.

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ModelLoader.h"
#include "model/io/RestrictedUnpickler.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"
#include "model/io/WeightStorage.h"
#include "model/vit/Config.h"

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

enum Mode : uint8_t { kSafeTensors, kPickle, kPrismaConfig, kModelFolder, kArchive, kModes };

// Storage records every fuzzed archive holds ("0".."3", 64 bytes each): enough for views
// to reach, overlap and run past.
constexpr int kArchiveStorages = 4;
constexpr size_t kArchiveStorageBytes = 64;

// Model folders with real weights, one per family; created once per process.
struct Folders {
  fs::path root;
  std::vector<fs::path> dirs;
  ~Folders() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  Folders() {
    const fs::path fixtures = PRISMA_FIXTURES_DIR;
    root = fs::temp_directory_path() / ("prisma-fuzz-" + std::to_string(::getpid()));
    const std::pair<const char*, const char*> weights[] = {
        {"hf_vit_classifier/model.safetensors", "model.safetensors"},
        {"timm_vit_avgpool/model.safetensors", "model.safetensors"},
        {"hf_clip_vision/model.safetensors", "model.safetensors"},
        {"legacy_mice/legacy_2L_full_LN/checkpoints/model_64.pth", "checkpoints/model_64.pth"}};
    int i = 0;
    for (const auto& [from, to] : weights) {
      const fs::path dir = root / std::to_string(i++);
      fs::create_directories((dir / to).parent_path());
      fs::create_symlink(fixtures / from, dir / to);
      dirs.push_back(dir);
    }
  }
};

[[noreturn]] void unexpected(const char* what) {
  std::fprintf(stderr, "parser threw something other than prisma::Error: %s\n", what);
  std::abort();
}

void fuzzSafeTensors(const uint8_t* data, size_t size) {
  // An in-memory file, so the real open/mmap path runs without touching the disk.
  const int fd = ::memfd_create("fuzz.safetensors", 0);
  if (fd < 0) return;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return;
  }
  try {
    prisma::io::SafeTensorsFile st("/proc/self/fd/" + std::to_string(fd));
    for (const auto& name : st.names()) {
      torch::Tensor t = st.tensor(name);
      if (t.numel() > 0 && t.is_floating_point()) (void)t.sum().item<double>();  // touch every byte
    }
    // The int8-block reader (scales, block size from the metadata) on whatever the file holds.
    for (const auto& name : prisma::io::weightNames(st)) (void)prisma::io::readFloatWeight(st, name).sum().item<double>();
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    ::close(fd);
    unexpected(e.what());
  }
  ::close(fd);
}

void fuzzPickle(const uint8_t* data, size_t size) {
  try {
    prisma::io::pickle::unpickle(data, size, "fuzz.pkl");
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzPrismaConfig(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json j =
        prisma::parseJson(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
    // A value that parsed must survive what callers do with it (copy, dump, compare).
    const nlohmann::json copy = j;
    (void)copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    prisma::configFromJson(j, "config.json");
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzModelFolder(const uint8_t* data, size_t size) {
  static const Folders folders;
  if (size < 1) return;
  const fs::path dir = folders.dirs[data[0] % folders.dirs.size()];
  {
    std::ofstream out(dir / "config.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  try {
    auto m = prisma::io::loadModel(dir.string());
    torch::NoGradGuard no_grad;
    const auto& c = m.model->cfg();
    (void)m.model->forward(torch::zeros({1, c.n_channels, c.image_size, c.image_size}));
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzArchive(const uint8_t* data, size_t size) {
  static const std::string file =
      (fs::temp_directory_path() / ("prisma-fuzz-" + std::to_string(::getpid()) + ".pth")).string();
  {
    caffe2::serialize::PyTorchStreamWriter writer(file);
    writer.writeRecord("data.pkl", data, size);
    writer.writeRecord("byteorder", "little", 6);
    const std::string storage(kArchiveStorageBytes, '\x01');
    for (int k = 0; k < kArchiveStorages; ++k) writer.writeRecord("data/" + std::to_string(k), storage.data(), storage.size());
    writer.writeEndOfFile();
  }
  try {
    prisma::io::TorchArchive archive(file);
    std::vector<std::string> notes;
    for (auto& [name, t] : archive.modelStateDict(notes))
      if (t.numel() > 0 && t.is_floating_point()) (void)t.sum().item<double>();  // touch every element
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % kModes) {
    case kSafeTensors: fuzzSafeTensors(data + 1, size - 1); break;
    case kPickle: fuzzPickle(data + 1, size - 1); break;
    case kPrismaConfig: fuzzPrismaConfig(data + 1, size - 1); break;
    case kModelFolder: fuzzModelFolder(data + 1, size - 1); break;
    case kArchive: fuzzArchive(data + 1, size - 1); break;
  }
  return 0;
}
