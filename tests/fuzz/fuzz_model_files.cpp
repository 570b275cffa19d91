// libFuzzer target for the parsers that read model files from strangers. The first input
// byte picks the parser, the rest is the file:
//   0  a safetensors file (header, offsets, dtypes; every tensor is then read)
//   1  a pickle, through the restricted unpickler
//   2  a Prisma config (configFromJson), parsed by the project's one JSON reader (depth
//      and size limits included)
//   3  a config beside real fixture weights (the next byte picks the family), through
//      loadModel's detection and the Hugging Face / CLIP / timm (registers, LayerScale,
//      MAP pooling) / legacy-mouse config.json parsers, DINOv2's config.json beside its
//      torch-hub .pth, and open_clip's open_clip_config.json (the image tower through
//      loadModel, then the text tower's config and weights, as loadClip reads them)
//   4  a pickle as the data.pkl of a torch.save archive with four small storages, through
//      TorchArchive: every tensor view is checked against its storage, the file and the
//      memory budget (stride 0 included)
//   5  an SAE config (the next byte picks the layout) beside real weights, through
//      loadSae: ViT-Prisma's config.json beside n_images_N.pt, SAELens' cfg.json beside
//      sae_weights.safetensors, our sae.json beside sae.safetensors
//   6  a pickle as the data.pkl of ViT-Prisma's SAE checkpoint (n_images_N.pt, its real
//      storages; the pickled VisionModelSAERunnerConfig is the one allow-listed class)
// A parser may only answer with prisma::Error; any other exception aborts, so the fuzzer
// reports it like a crash, as it does AddressSanitizer and UBSan findings.

#include "model/Error.h"
#include "model/clip/TextTower.h"
#include "model/core/Json.h"
#include "model/io/ModelLoader.h"
#include "model/io/OpenClipConfig.h"
#include "model/io/RestrictedUnpickler.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"
#include "model/io/WeightFile.h"
#include "model/io/WeightStorage.h"
#include "model/sae/SaeFiles.h"
#include "model/vit/Config.h"

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

enum Mode : uint8_t { kSafeTensors, kPickle, kPrismaConfig, kModelFolder, kArchive, kSaeFolder, kSaePickle, kModes };

// Storage records every fuzzed archive holds ("0".."3", 64 bytes each): enough for views
// to reach, overlap and run past.
constexpr int kArchiveStorages = 4;
constexpr size_t kArchiveStorageBytes = 64;

// The open_clip folder's index in Folders (its text tower is read too).
constexpr size_t kOpenClipFolder = 4;
// Token rows the text tower runs on.
constexpr int64_t kTextRows = 2;
// Rows of activations an SAE that loaded encodes and decodes.
constexpr int64_t kSaeRows = 2;

// A model folder: a fixture's weights (linked) and the name the fuzzed config is written as.
struct Folder {
  fs::path dir;
  std::string config;
};

// Model folders with real weights, one per family; created once per process. Seeds name
// a folder by its index (make_corpus.sh), so new families are only ever appended.
struct Folders {
  fs::path root;
  std::vector<Folder> dirs;
  ~Folders() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  Folders() {
    const fs::path fixtures = PRISMA_FIXTURES_DIR;
    root = fs::temp_directory_path() / ("prisma-fuzz-" + std::to_string(::getpid()));
    struct Family {
      const char* weights;  // in the fixtures
      const char* link;     // in the folder
      const char* config;   // the fuzzed file
    };
    const Family families[] = {
        {"hf_vit_classifier/model.safetensors", "model.safetensors", "config.json"},
        {"timm_vit_avgpool/model.safetensors", "model.safetensors", "config.json"},
        {"hf_clip_vision/model.safetensors", "model.safetensors", "config.json"},
        {"legacy_mice/legacy_2L_full_LN/checkpoints/model_64.pth", "checkpoints/model_64.pth", "config.json"},
        {"open_clip_vit/open_clip_model.safetensors", "open_clip_model.safetensors", "open_clip_config.json"},
        {"dinov2_hub/dinov2_vits8_reg4_pretrain.pth", "dinov2_vits8_reg4_pretrain.pth", "config.json"},
        {"dinov2_hub_p14/dinov2_vits14_pretrain.pth", "dinov2_vits14_pretrain.pth", "config.json"},
        {"timm_vit_reg_ls/model.safetensors", "model.safetensors", "config.json"},
        {"timm_vit_map_siglip/model.safetensors", "model.safetensors", "config.json"}};
    int i = 0;
    for (const auto& f : families) {
      const fs::path dir = root / std::to_string(i++);
      fs::create_directories((dir / f.link).parent_path());
      fs::create_symlink(fixtures / f.weights, dir / f.link);
      dirs.push_back({dir, f.config});
    }
  }
};

// A torch.save file of an SAE's bare state dict (the fixture's checkpoint carries its own
// cfg, which would win over the fuzzed config.json), pickled as Python pickles one:
// OrderedDict of name -> _rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict()).
// (LibTorch's pickle_save tags the dict with a TorchScript type, which is no state dict.)
void writeBareStateDict(const prisma::sae::SparseAutoencoderImpl& sae, const std::string& file) {
  std::string pkl = "\x80\x02";  // PROTO 2
  auto global = [&](const char* module, const char* name) { pkl += std::string("c") + module + "\n" + name + "\n"; };
  auto text = [&](const std::string& t) {  // BINUNICODE
    const auto n = static_cast<uint32_t>(t.size());
    pkl += 'X';
    pkl.append(reinterpret_cast<const char*>(&n), 4);
    pkl += t;
  };
  auto integer = [&](int64_t v) {  // BININT (4 bytes, little-endian: every size here fits)
    const auto n = static_cast<int32_t>(v);
    pkl += 'J';
    pkl.append(reinterpret_cast<const char*>(&n), 4);
  };
  auto ints = [&](c10::IntArrayRef values) {
    pkl += '(';
    for (const int64_t v : values) integer(v);
    pkl += 't';
  };
  caffe2::serialize::PyTorchStreamWriter writer(file);
  global("collections", "OrderedDict");
  pkl += ")R(";  // OrderedDict(), MARK
  int key = 0;
  for (const auto& p : sae.named_parameters()) {
    const torch::Tensor t = p.value().detach().contiguous();
    const std::string record = std::to_string(key++);
    writer.writeRecord("data/" + record, t.data_ptr(), t.numel() * t.element_size());
    text(p.key());
    global("torch._utils", "_rebuild_tensor_v2");
    pkl += "((";  // MARK args, MARK persistent id
    text("storage");
    global("torch", "FloatStorage");
    text(record);
    text("cpu");
    integer(t.numel());
    pkl += "tQ";  // TUPLE, BINPERSID
    integer(0);
    ints(t.sizes());
    ints(t.strides());
    pkl += "\x89";  // NEWFALSE: requires_grad
    global("collections", "OrderedDict");
    pkl += ")RtR";  // OrderedDict(), TUPLE, REDUCE
  }
  pkl += "u.";  // SETITEMS, STOP
  writer.writeRecord("data.pkl", pkl.data(), pkl.size());
  writer.writeRecord("byteorder", "little", 6);
  writer.writeEndOfFile();
}

// SAE folders, one per layout, with the fixture SAE's weights: as a ViT-Prisma checkpoint
// holding the bare state dict (so its config.json is read), in our layout
// (sae.safetensors), whose four tensors are also SAELens' sae_weights.safetensors.
// Index = the seed's layout byte (make_corpus.sh).
struct SaeFolders {
  fs::path root;
  std::vector<std::pair<fs::path, std::string>> dirs;  // folder, the fuzzed config's name
  fs::path pickle_dir;                                 // for ViT-Prisma checkpoints with a fuzzed data.pkl
  std::map<std::string, std::string> records;          // the fixture checkpoint's storages, by record name
  ~SaeFolders() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  SaeFolders() {
    const fs::path fixture = fs::path(PRISMA_FIXTURES_DIR) / "prisma_sae";
    const std::string checkpoint = "n_images_1513.pt";
    root = fs::temp_directory_path() / ("prisma-fuzz-sae-" + std::to_string(::getpid()));
    const fs::path prisma = root / "0", saelens = root / "1", ours = root / "2";
    pickle_dir = root / "pt";
    for (const auto& d : {prisma, saelens, ours, pickle_dir}) fs::create_directories(d);
    const auto sae = prisma::sae::loadSae(fixture.string()).sae;
    writeBareStateDict(*sae, (prisma / checkpoint).string());
    prisma::sae::saveSae(*sae, ours.string());
    fs::copy_file(ours / "sae.safetensors", saelens / "sae_weights.safetensors");
    fs::remove(ours / "sae.json");  // the fuzzed one takes its place
    fs::copy_file(fixture / "config.json", pickle_dir / "config.json");
    dirs = {{prisma, "config.json"}, {saelens, "cfg.json"}, {ours, "sae.json"}};
    caffe2::serialize::PyTorchStreamReader reader((fixture / checkpoint).string());
    for (const auto& name : reader.getAllRecords()) {
      // The storages only: the writer adds its own version record, the fuzzer the pickle.
      if (name.rfind("data/", 0) != 0 && name != "byteorder") continue;
      auto [data, size] = reader.getRecord(name);
      records[name] = std::string(static_cast<const char*>(data.get()), size);
    }
  }
};

// With PRISMA_FUZZ_VERBOSE set, each refusal is printed: why a seed does not get past
// the parsers it was meant to reach.
void refused(const prisma::Error& e) {
  if (std::getenv("PRISMA_FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", e.what());
}

// A scratch file of this process, removed when it ends (the smoke tests run in every build).
struct ScratchFile {
  std::string path;
  explicit ScratchFile(std::string p) : path(std::move(p)) {}
  ~ScratchFile() { std::remove(path.c_str()); }
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
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    ::close(fd);
    unexpected(e.what());
  }
  ::close(fd);
}

void fuzzPickle(const uint8_t* data, size_t size) {
  try {
    prisma::io::pickle::unpickle(data, size, "fuzz.pkl");
  } catch (const prisma::Error& e) {
    refused(e);
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
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void writeFile(const fs::path& file, const uint8_t* data, size_t size) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// What loadClip does with an open_clip folder's text tower, without the tokenizer (which
// fuzz_clip_tokenizer covers): the text config, the tower built from it, its weights.
void loadTextTower(const fs::path& dir) {
  std::vector<std::string> notes;
  const auto files = prisma::io::findOpenClipFiles(dir.string());
  if (!files) return;
  prisma::io::WeightFile w = prisma::io::WeightFile::open(files->weights, notes);
  const prisma::io::OpenClipConfig oc = prisma::io::openClipConfig(*files, w, {}, notes);
  const prisma::io::OpenClipTextCfg tc = prisma::io::readOpenClipTextCfg(oc);
  w.setImpliedBy(oc.source);
  prisma::clip::TextTransformer text(tc, oc.embed_dim,
                                     oc.quick_gelu ? prisma::Activation::QuickGelu : prisma::Activation::GeluErf);
  text->load(w);
  torch::NoGradGuard no_grad;
  // The largest id is the one pooled (CLIP's end-of-text).
  (void)text->forward(torch::full({kTextRows, tc.context_length}, tc.vocab_size - 1, torch::kInt64));
}

void fuzzModelFolder(const uint8_t* data, size_t size) {
  static const Folders folders;
  if (size < 1) return;
  const size_t which = data[0] % folders.dirs.size();
  const Folder& folder = folders.dirs[which];
  writeFile(folder.dir / folder.config, data + 1, size - 1);
  try {
    auto m = prisma::io::loadModel(folder.dir.string());
    torch::NoGradGuard no_grad;
    const auto& c = m.model->cfg();
    (void)m.model->forward(torch::zeros({1, c.n_channels, c.image_size, c.image_size}));
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
  if (which != kOpenClipFolder) return;
  try {
    loadTextTower(folder.dir);
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

// One set per process (both SAE modes share it).
const SaeFolders& saeFolders() {
  static const SaeFolders folders;
  return folders;
}

void runSae(const std::string& path) {
  const auto loaded = prisma::sae::loadSae(path);
  torch::NoGradGuard no_grad;
  (void)loaded.sae->run(torch::ones({kSaeRows, loaded.sae->cfg().d_in}));
}

void fuzzSaeFolder(const uint8_t* data, size_t size) {
  const SaeFolders& folders = saeFolders();
  if (size < 1) return;
  const auto& [dir, config] = folders.dirs[data[0] % folders.dirs.size()];
  writeFile(dir / config, data + 1, size - 1);
  try {
    runSae(dir.string());
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzSaePickle(const uint8_t* data, size_t size) {
  const SaeFolders& folders = saeFolders();
  const std::string file = (folders.pickle_dir / "n_images_1.pt").string();
  {
    caffe2::serialize::PyTorchStreamWriter writer(file);
    writer.writeRecord("data.pkl", data, size);
    for (const auto& [name, bytes] : folders.records) writer.writeRecord(name, bytes.data(), bytes.size());
    writer.writeEndOfFile();
  }
  try {
    runSae(file);
  } catch (const prisma::Error& e) {
    refused(e);
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzArchive(const uint8_t* data, size_t size) {
  static const ScratchFile scratch(
      (fs::temp_directory_path() / ("prisma-fuzz-" + std::to_string(::getpid()) + ".pth")).string());
  const std::string& file = scratch.path;
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
  } catch (const prisma::Error& e) {
    refused(e);
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
    case kSaeFolder: fuzzSaeFolder(data + 1, size - 1); break;
    case kSaePickle: fuzzSaePickle(data + 1, size - 1); break;
  }
  return 0;
}
