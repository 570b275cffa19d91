// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/ModelState.h"

#include "model/Error.h"
#include "model/clip/ZeroShot.h"
#include "model/io/InputSpec.h"
#include "model/vit/ModelShapes.h"
#include "model/vit/WeightProcessing.h"

#include <torch/torch.h>

#include "app/explorer/jobs/ModelJobs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace prisma::app::jobs {

namespace {

constexpr uint64_t kRandomModelSeed = 0;
const char* const kModelChannel = "model";

// What a researcher asks first of a pretrained model (the Details panel): family, towers,
// pooling, registers, position interpolation, and the zero-shot head when there is one.
QString modelFacts(const io::LoadedModel& m, bool text_tower) {
  const ViTConfig& c = m.model->cfg();
  return QStringLiteral("Family: %1; towers: %2; pooling: %3; registers: %4; position interpolation: %5")
      .arg(QString::fromStdString(m.format),
           text_tower ? QStringLiteral("image + text (CLIP)") : QStringLiteral("image"),
           QString::fromStdString(toString(c.pooling)))
      .arg(c.n_registers)
      .arg(c.pos_interpolation == PosInterpolation::None ? QStringLiteral("none (native size only)")
                                                         : QString::fromStdString(toString(c.pos_interpolation)));
}

ModelSummary summarize(const io::LoadedModel& m, bool text_tower = false,
                       const clip::ZeroShotHead* head = nullptr, const QString& tmpl = {}) {
  const ViTConfig& c = m.model->cfg();
  ModelSummary s;
  s.name = QString::fromStdString(m.name);
  s.format = QString::fromStdString(m.format);
  s.source = QString::fromStdString(m.source);
  auto count = [](int n, const char* one, const char* many) {
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
  };
  s.architecture = QStringLiteral("%1 \u00d7 %2, d_model %3, %4 tokens (%5\u00d7%5 patches of %6 px)%7")
                       .arg(count(c.n_layers, "layer", "layers"))
                       .arg(count(c.n_heads, "head", "heads"))
                       .arg(c.d_model)
                       .arg(c.n_tokens())
                       .arg(c.grid_size())
                       .arg(c.patch_size)
                       .arg(c.attn_only ? QStringLiteral(", attention-only") : QString());
  s.notes << modelFacts(m, text_tower);
  if (head)
    s.notes << QStringLiteral("Zero-shot head: %1 classes, template '%2'").arg(head->classes.size()).arg(tmpl);
  else if (text_tower)
    s.notes << QStringLiteral("Zero-shot head: none yet (the output is the image embedding)");
  for (const auto& n : m.notes) s.notes << QString::fromStdString(n);
  // A feature vector is no class prediction: the views show none, the board cosine_to_clean.
  s.classes = clip::outputIsFeature(m) ? 0 : c.n_classes;
  s.textTower = text_tower;
  if (head) {
    for (const auto& name : head->classes) s.zeroShotClasses << QString::fromStdString(name);
    s.zeroShotTemplate = tmpl;
  }
  return s;
}

// The cache key of a head: the model's weight files as they are now (path, size, time),
// so a retrained model at the same path gets new heads, then the template and classes
// ('\n' never occurs in a class name read from a line).
std::string headKey(const std::string& source, const std::string& tmpl, const std::vector<std::string>& classes) {
  namespace fs = std::filesystem;
  std::string key = source;
  std::error_code ec;
  const fs::path root(source);
  const auto stamp = [&](const fs::path& p) {
    if (!fs::is_regular_file(p, ec)) return;
    key += '|' + p.filename().string() + ':' + std::to_string(fs::file_size(p, ec)) + ':' +
           std::to_string(fs::last_write_time(p, ec).time_since_epoch().count());
  };
  if (fs::is_directory(root, ec)) {
    for (const auto& e : fs::directory_iterator(root, ec)) stamp(e.path());
  } else {
    stamp(root);
  }
  key += '\n' + tmpl;
  for (const auto& c : classes) key += '\n' + c;
  return key;
}

ViTConfig randomPreset(const QString& name) {
  return name == QLatin1String("vit-b16") ? vitBase16Shape() : mouseShape();
}

// All three steps of processWeights, or none: a model where one of them would change the
// function (no LayerNorm, post-LN blocks) loads as it is, and its notes say so.
void processIfAsked(io::LoadedModel& m, const ModelLoadOptions& options) {
  if (!options.processWeights) return;
  try {
    m.model = processWeights(m.model);
    m.model->eval();
    m.notes.push_back("weights processed: LayerNorm folded, writing weights centred, value biases folded");
  } catch (const Error& e) {
    m.notes.push_back(std::string("weights not processed: ") + e.what());
  }
}

// After a model is replaced: gives the previous one's memory back to the system. glibc keeps
// freed blocks in the model thread's arena (the executables raise the mmap and trim
// thresholds, so a model's tensors live there): without a trim, a ViT-B/16 left ~330 MB
// resident after the switch back to a mouse.
void releaseFreedMemory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

ModelJob<ModelSummary> replacing(const QString& what) {
  ModelJob<ModelSummary> job;
  job.lane = JobLane::Interactive;
  job.channel = QString::fromLatin1(kModelChannel);
  job.what = what;
  return job;
}

}  // namespace

ModelJob<ModelSummary> loadModel(const QString& path, const ModelLoadOptions& options) {
  ModelJob<ModelSummary> job = replacing(QStringLiteral("loading %1").arg(path));
  job.run = [path, options](ModelState& state, JobContext<ModelSummary>&) {
    const std::string p = path.toStdString();
    std::shared_ptr<clip::ClipModel> clip;
    if (clip::hasTextTower(p)) clip = std::make_shared<clip::ClipModel>(clip::loadClip(p));
    // A CLIP's image tower shares its HookedViT with the ClipModel until processing copies it.
    auto m = std::make_shared<io::LoadedModel>(clip ? clip->image : io::loadModel(p));
    processIfAsked(*m, options);
    const ModelSummary summary = summarize(*m, clip != nullptr);
    state.setModel(std::move(m), clip);
    state.clip_process_weights = options.processWeights;
    releaseFreedMemory();
    return summary;
  };
  return job;
}

ModelJob<ModelSummary, ZeroShotProgress> installZeroShotHead(const ZeroShotRequest& request) {
  ModelJob<ModelSummary, ZeroShotProgress> job;
  job.lane = JobLane::Background;  // ImageNet's 1,000 prompts take a while on a large text tower
  job.channel = QStringLiteral("zero-shot");
  job.what = QStringLiteral("zero-shot head");
  job.run = [request](ModelState& state, JobContext<ZeroShotProgress>& ctx) {
    const std::shared_ptr<clip::ClipModel> clip = state.clip;  // held for the whole build
    if (!clip) throw Error("zero-shot", "model", "the loaded model has no text tower: zero-shot classes need a CLIP");
    std::vector<std::string> classes;
    if (!request.classFile.isEmpty()) {
      classes = clip::readClassFile(request.classFile.toStdString());
    } else if (request.classes.isEmpty()) {
      classes = clip::imageNetPromptClasses();
    } else {
      for (const QString& c : request.classes)
        if (!c.trimmed().isEmpty()) classes.push_back(c.trimmed().toStdString());
      if (classes.empty()) throw Error("zero-shot", "classes", "no class names (one per line)");
    }
    const std::string tmpl = request.tmpl.toStdString();
    const std::string key = headKey(clip->image.source, tmpl, classes);
    std::shared_ptr<const clip::ZeroShotHead> head;
    if (const auto it = state.zero_shot_heads.find(key); it != state.zero_shot_heads.end()) {
      head = it->second;
    } else {
      const auto progress = [&ctx](size_t done, size_t total) {
        ctx.progress([&] { return ZeroShotProgress{static_cast<int>(done), static_cast<int>(total)}; });
        ctx.checkpoint();  // a click waits for one batch of prompts at most
      };
      head = std::make_shared<const clip::ZeroShotHead>(
          clip::buildZeroShotHead(*clip, classes, tmpl, progress, ctx.stopToken()));
      state.zero_shot_heads.emplace(key, head);
    }
    // A load that ran at a checkpoint replaced the model: this head is for the old one
    // (cached all the same), and the GUI has already dropped this job's result.
    if (state.clip != clip) throw Error("zero-shot", "model", "the model changed while its zero-shot head was built");
    if (ctx.cancelled()) throw clip::Cancelled();  // the views keep the head they show
    // The head replaces the image tower's in place; one note says which head it is.
    auto& notes = clip->image.notes;
    notes.erase(std::remove_if(notes.begin(), notes.end(),
                               [](const std::string& n) { return n.rfind("zero-shot head", 0) == 0; }),
                notes.end());
    clip::installZeroShotHead(*clip, *head);
    // A new LoadedModel (sharing the tower), so each tab's state, computed with the old
    // head, is dropped as for a new model.
    auto m = std::make_shared<io::LoadedModel>(clip->image);
    processIfAsked(*m, ModelLoadOptions{state.clip_process_weights});
    const ModelSummary summary = summarize(*m, true, head.get(), request.tmpl);
    const bool process = state.clip_process_weights;
    state.setModel(std::move(m), clip, head);
    state.clip_process_weights = process;
    return summary;
  };
  return job;
}

ModelJob<ModelSummary> randomModel(const QString& preset) {
  ModelJob<ModelSummary> job = replacing(QStringLiteral("building %1").arg(preset));
  job.run = [preset](ModelState& state, JobContext<ModelSummary>&) {
    auto m = std::make_shared<io::LoadedModel>();
    m->model = HookedViT(randomPreset(preset));
    m->model->init_weights(kRandomModelSeed);
    m->model->eval();
    m->format = "random";
    m->name = "random " + preset.toStdString();
    m->source = "(in memory)";
    m->preprocess = io::defaultPreprocess(m->model->cfg());
    const ModelSummary summary = summarize(*m);
    state.setModel(std::move(m));
    releaseFreedMemory();
    return summary;
  };
  return job;
}

}  // namespace prisma::app::jobs
