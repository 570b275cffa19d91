// The Features tab's jobs; see FeatureJobs.h. Every number the tab shows comes from
// model/sae as `prisma sae encode|top` computes it: the SAE encodes the hook's activation at
// the tokens it was trained on, an edit goes through SaeSplice with the error term added
// back, and a feature's top images are the database's own entries.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "app/explorer/jobs/ModelState.h"
#include "datasets/DatasetRegistry.h"
#include "datasets/Random.h"
#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ResourcePaths.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeSplice.h"
#include "model/train/TrainingData.h"
#include "model/vit/HookNames.h"

#include <torch/torch.h>

#include "app/explorer/TensorImage.h"
#include "app/explorer/jobs/FeatureJobs.h"
#include "app/explorer/jobs/JobSupport.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>

namespace prisma::app {

namespace {
constexpr int kTopK = 5;
constexpr int kTopClasses = 3;
const char* const kSaeFolder = "sae";

// The SAE, its database and what the database's thumbnails need, kept on the model thread
// between jobs. A new model drops it (ModelState::setModel).
struct FeaturesSession {
  std::shared_ptr<io::LoadedModel> model;  // the model it was opened for
  sae::SparseAutoencoder sae{nullptr};
  std::string saeSource;  // its folder or file
  QString saeSpec;        // what a database built from it records (sae:NAME when bundled)
  std::shared_ptr<const sae::FeatureDatabase> db;
  std::string dbPath, dbDataset, dbSplit, dbDatasetPath;
  uint64_t dbSeed = datasets::kDefaultSeed;
  // The database's dataset split, opened on first use (thumbnails); `dataError` says why not.
  std::shared_ptr<train::TrainingData> data;
  std::string dataError;
  bool dataTried = false;
};

bool hasSaeConfig(const QDir& d) {
  return d.exists(QStringLiteral("sae.json")) || d.exists(QStringLiteral("cfg.json")) ||
         d.exists(QStringLiteral("config.json"));
}

QVector<widgets::ClassScore> topOf(const torch::Tensor& logits, const QStringList& names) {  // logits [classes]
  QVector<widgets::ClassScore> out;
  const torch::Tensor probs = torch::softmax(logits.to(torch::kFloat64), -1);
  const auto [values, indices] = probs.topk(std::min<int64_t>(kTopK, probs.size(0)));
  for (int64_t i = 0; i < values.size(0); ++i)
    out.push_back({names.value(indices[i].item<int>()), values[i].item<double>()});
  return out;
}

std::shared_ptr<FeaturesSession> sessionOf(ModelState& state) {
  auto s = state.get<FeaturesSession>();
  if (!s || !s->sae || s->model != state.model) throw std::runtime_error("No SAE is open for this model.");
  return s;
}

// [1, T, ...] -> the tokens the SAE reads, [1, T', ...].
torch::Tensor selectTokens(const torch::Tensor& act, sae::TokenSelection tokens, int64_t firstPatch) {
  if (tokens == sae::TokenSelection::Cls) return act.narrow(1, 0, 1);
  if (tokens == sae::TokenSelection::Patches) return act.narrow(1, firstPatch, act.size(1) - firstPatch);
  return act;
}

// The row of patch (0, 0) among the SAE's tokens, -1 when it reads no patches. model/sae's
// "patches" start after CLS only, so with register tokens they come first there.
int firstPatchRow(sae::TokenSelection tokens, const ViTConfig& cfg) {
  if (tokens == sae::TokenSelection::Cls) return -1;
  const int skipped = tokens == sae::TokenSelection::Patches ? static_cast<int>(cfg.n_prefix()) : 0;
  return cfg.n_prefix() - skipped;
}

widgets::PatchGridValues gridOf(const float* row, int firstPatch, int rows, int cols) {
  widgets::PatchGridValues g;
  if (firstPatch < 0) return g;
  g.rows = rows;
  g.cols = cols;
  g.values.resize(rows * cols);
  for (int i = 0; i < rows * cols; ++i) g.values[i] = row[firstPatch + i];
  return g;
}

// A feature database's images, opened as `prisma sae features` opens them (app/cli/SaeCli.cpp:
// its --seed and --dataset-path, which the database records, so building and reading agree
// on the images). Rendered on demand, not cached: a pass or a few thumbnails read each once.
std::shared_ptr<train::TrainingData> databaseData(const std::string& dataset, uint64_t seed, const std::string& path,
                                                  const datasets::Preprocess& preprocess) {
  datasets::DatasetOptions dopt;
  dopt.seed = seed;
  dopt.path = path;
  std::shared_ptr<const datasets::Dataset> d = datasets::makeDataset(dataset, dopt);
  train::TrainingDataOptions topt;
  topt.split_seed = seed;
  topt.n_classes = std::max<int>(1, static_cast<int>(d->classNames().size()));
  topt.cache_budget_bytes = 0;
  return std::make_shared<train::TrainingData>(d, preprocess, topt);
}

void openData(FeaturesSession& s, const io::LoadedModel& m) {
  if (s.dataTried) return;
  s.dataTried = true;
  if (s.dbDataset.empty()) {
    s.dataError = "the database does not name its dataset";
    return;
  }
  try {
    s.data = databaseData(s.dbDataset, s.dbSeed, s.dbDatasetPath, m.preprocess);
  } catch (const std::exception& e) {
    s.dataError = "its dataset '" + s.dbDataset + "' could not be opened: " + jobs::describeError(e).toStdString();
  }
}

// The bundled SAE's name when `source` is one of the resource folders' sae/NAME, else "".
QString bundledName(const std::string& source) {
  const QFileInfo info(QString::fromStdString(source));
  const QDir dir = info.isDir() ? QDir(info.filePath()) : info.dir();
  const QString parent = QFileInfo(dir.absolutePath() + QStringLiteral("/..")).canonicalFilePath();
  for (const std::string& root : io::resourceDirectories()) {
    const QString folder = QFileInfo(QDir(QString::fromStdString(root)).filePath(QLatin1String(kSaeFolder))).canonicalFilePath();
    if (!folder.isEmpty() && folder == parent) return dir.dirName();
  }
  return {};
}

// The model as `prisma sae features` records it: mouse:NAME for a bundled mouse (portable
// across installs), else its source.
std::string portableModel(const QString& source) {
  const QFileInfo info(QDir::cleanPath(source));
  if (!source.startsWith(QLatin1String(io::kMousePrefix)) && info.dir().dirName() == QLatin1String(io::kMiceFolder)) {
    const QString resources = QFileInfo(info.dir().absolutePath() + QStringLiteral("/..")).canonicalFilePath();
    for (const std::string& root : io::resourceDirectories())
      if (!resources.isEmpty() && QFileInfo(QString::fromStdString(root)).canonicalFilePath() == resources)
        return io::kMousePrefix + info.fileName().toStdString();
  }
  return source.toStdString();
}

namespace fs = std::filesystem;

// A database on its way to `target`: written into a hidden folder beside it, renamed into
// place by commit(). Until then, and always when stopped or failed, the destructor removes
// the hidden folder and every parent folder it had to create, so nothing is left behind.
class StagedFolder {
public:
  // Tries each destination in order; the first whose parent folder can be created and
  // written is used. Throws naming them all when none can.
  explicit StagedFolder(const QStringList& targets) {
    std::string why;
    for (const QString& t : targets) {
      if (t.isEmpty()) continue;
      if (tryStage(fs::absolute(fs::path(t.toStdString())).lexically_normal(), why)) return;
    }
    throw Error(targets.join(QStringLiteral(", ")).toStdString(), "", "no folder to write the feature database into: " + why);
  }
  ~StagedFolder() {
    std::error_code ec;
    if (!staging_.empty()) fs::remove_all(staging_, ec);
    // Innermost first; a folder that is not empty (someone else's) stays.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::remove(*it, ec);
  }
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;

  const fs::path& staging() const { return staging_; }
  const fs::path& target() const { return target_; }

  // Moves the staged database to its destination, replacing an older one there.
  void commit() {
    std::error_code ec;
    fs::path old;
    if (fs::exists(target_, ec)) {
      old = hiddenBeside(target_, "old");
      fs::rename(target_, old, ec);
      if (ec) throw Error(target_.string(), "", "could not be replaced: " + ec.message());
    }
    fs::rename(staging_, target_, ec);
    if (ec) {
      std::error_code back;
      if (!old.empty()) fs::rename(old, target_, back);
      throw Error(target_.string(), "", "could not be written: " + ec.message());
    }
    staging_.clear();
    created_.clear();
    if (!old.empty()) fs::remove_all(old, ec);
  }

private:
  static fs::path hiddenBeside(const fs::path& target, const char* what) {
    std::random_device rd;
    return target.parent_path() / ("." + target.filename().string() + "." + what + "-" + std::to_string(rd()));
  }

  bool tryStage(const fs::path& target, std::string& why) {
    std::vector<fs::path> created;
    for (fs::path p = target.parent_path(); !p.empty() && !fs::exists(p); p = p.parent_path()) {
      created.insert(created.begin(), p);
      if (p == p.parent_path()) break;
    }
    std::error_code ec;
    for (const fs::path& p : created) {
      if (!fs::create_directory(p, ec) && ec) {
        for (auto it = created.rbegin(); it != created.rend(); ++it) fs::remove(*it, ec);
        why += (why.empty() ? "" : "; ") + p.string() + ": " + ec.message();
        return false;
      }
    }
    const fs::path staging = hiddenBeside(target, "partial");
    if (!fs::create_directory(staging, ec) || ec) {
      why += (why.empty() ? "" : "; ") + target.parent_path().string() + ": " + (ec ? ec.message() : "exists");
      for (auto it = created.rbegin(); it != created.rend(); ++it) fs::remove(*it, ec);
      return false;
    }
    staging_ = staging;
    target_ = target;
    created_ = std::move(created);
    return true;
  }

  fs::path staging_, target_;
  std::vector<fs::path> created_;  // parents made for the target, outermost first
};

}  // namespace

float SaeSummary::densityOf(int feature) const {
  if (!density || feature < 0 || feature >= static_cast<int>(density->size())) return std::numeric_limits<float>::quiet_NaN();
  return (*density)[feature];
}

int FeatureEncoding::rowOfPatch(int row, int col) const {
  if (firstPatch < 0 || row < 0 || col < 0 || row >= gridRows || col >= gridCols) return -1;
  return firstPatch + row * gridCols + col;
}

QVector<ActiveFeature> FeatureEncoding::activeAt(int token, int limit) const {
  QVector<ActiveFeature> out;
  if (!isValid() || token < 0 || token >= tokens) return out;
  for (int f = 0; f < dSae; ++f)
    if (const float a = at(token, f); a > 0.0f) out.push_back({f, a});
  // Ties keep the lower index first, so the order is the same every time.
  std::stable_sort(out.begin(), out.end(), [](const ActiveFeature& a, const ActiveFeature& b) { return a.activation > b.activation; });
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

QVector<ActiveFeature> FeatureEncoding::strongest(int limit) const {
  QVector<ActiveFeature> out;
  if (!isValid()) return out;
  // Over the patches when the SAE reads them (what the heatmap shows), else its rows.
  const int begin = firstPatch < 0 ? 0 : firstPatch;
  const int end = firstPatch < 0 ? tokens : std::min(tokens, firstPatch + gridRows * gridCols);
  for (int f = 0; f < dSae; ++f) {
    float best = 0.0f;
    for (int t = begin; t < end; ++t) best = std::max(best, at(t, f));
    if (best > 0.0f) out.push_back({f, best});
  }
  std::stable_sort(out.begin(), out.end(), [](const ActiveFeature& a, const ActiveFeature& b) { return a.activation > b.activation; });
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

widgets::PatchGridValues FeatureEncoding::heat(int feature) const {
  widgets::PatchGridValues g;
  if (!isValid() || firstPatch < 0 || feature < 0 || feature >= dSae) return g;
  g.rows = gridRows;
  g.cols = gridCols;
  g.values.resize(gridRows * gridCols);
  for (int i = 0; i < gridRows * gridCols; ++i) g.values[i] = at(firstPatch + i, feature);
  return g;
}

namespace jobs {

BundledSae bundledSaeFor(const QString& modelSource) {
  // A bundled mouse is opened as mouse:NAME or from <resources>/mice/NAME.
  QString name;
  if (modelSource.startsWith(QLatin1String(io::kMousePrefix))) name = modelSource.mid(int(std::strlen(io::kMousePrefix)));
  else {
    const QFileInfo info(QDir::cleanPath(modelSource));
    if (info.dir().dirName() == QLatin1String(io::kMiceFolder)) name = info.fileName();
  }
  if (name.isEmpty() || name.contains('/')) return {};
  const std::string found = io::findResource(std::string(kSaeFolder) + "/" + name.toStdString());
  if (found.empty()) return {};
  const QDir dir(QString::fromStdString(found));
  BundledSae b;
  if (hasSaeConfig(dir)) b.sae = dir.path();
  else
    for (const QString& sub : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      if (hasSaeConfig(QDir(dir.filePath(sub)))) {
        b.sae = dir.filePath(sub);
        break;
      }
  if (!b.sae.isEmpty()) b.database = databaseBeside(b.sae);
  return b;
}

bool isDatabaseFolder(const QString& dir) {
  return QFileInfo::exists(QDir(dir).filePath(QString::fromLatin1(sae::kFeatureDatabaseJson)));
}

QString databaseBeside(const QString& saePath) {
  const QFileInfo info(saePath);
  const QDir dir = info.isDir() ? QDir(info.filePath()) : info.dir();
  if (dir.exists(QString::fromLatin1(sae::kFeatureDatabaseJson))) return dir.path();
  for (const QString& sub : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
    if (QDir(dir.filePath(sub)).exists(QString::fromLatin1(sae::kFeatureDatabaseJson))) return dir.filePath(sub);
  // A sibling folder (`prisma sae features` refuses to write inside the SAE's folder): the
  // one whose JSON names this SAE's folder, else the only database there is. openSae
  // checks its hook and width and ignores it, with a note, when they do not match.
  QDir parent = dir;
  if (!parent.cdUp()) return {};
  QStringList found;
  for (const QString& sub : parent.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
    const QString json = QDir(parent.filePath(sub)).filePath(QString::fromLatin1(sae::kFeatureDatabaseJson));
    if (!QFileInfo::exists(json)) continue;
    found << parent.filePath(sub);
    try {
      const nlohmann::json j = readJsonFile(json.toStdString());
      const QString sae = QString::fromStdString(jsonOptional<std::string>(j, "sae", "", json.toStdString()));
      if (!sae.isEmpty() && QFileInfo(sae).canonicalFilePath() == QFileInfo(dir.path()).canonicalFilePath())
        return parent.filePath(sub);
    } catch (const std::exception&) {
      // Not ours to report: the user picks a database by hand when none is found.
    }
  }
  return found.size() == 1 ? found.first() : QString();
}

ModelJob<SaeSummary> openSae(const QString& saePath, const QString& databasePath, bool databaseFound) {
  ModelJob<SaeSummary> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("features.sae");
  job.what = QStringLiteral("opening SAE %1").arg(QFileInfo(saePath).fileName());
  job.run = [saePath, databasePath, databaseFound](ModelState& state, JobContext<SaeSummary>&) {
    const auto model = state.model;
    if (!model) throw std::runtime_error("No model is loaded.");
    auto s = std::make_shared<FeaturesSession>();
    s->model = model;
    sae::LoadedSae loaded = sae::loadSae(saePath.toStdString());
    const sae::SaeConfig& c = loaded.sae->cfg();
    if (!model->model->has_hook(c.hook_name))
      throw Error(loaded.source, "hook_name",
                  "names '" + c.hook_name + "', which " + model->name + " does not have (the SAE was trained on " +
                      (c.model_name.empty() ? std::string("an unnamed model") : c.model_name) + ")");
    if (c.tokens == sae::TokenSelection::Cls && !model->model->cfg().cls_token)
      throw Error(loaded.source, "tokens", "reads the CLS token, which " + model->name + " does not have");
    s->sae = loaded.sae;
    s->saeSource = loaded.source;

    SaeSummary r;
    r.source = QString::fromStdString(loaded.source);
    const QString bundled = bundledName(loaded.source);
    r.bundled = !bundled.isEmpty();
    r.spec = r.bundled ? QString::fromLatin1(sae::kBundledSaePrefix) + bundled : r.source;
    s->saeSpec = r.spec;
    if (loaded.training.is_object() && loaded.training.contains("dataset") && loaded.training["dataset"].is_string())
      r.trainingDataset = QString::fromStdString(loaded.training["dataset"].get<std::string>());
    r.format = QString::fromStdString(loaded.format);
    r.hook = QString::fromStdString(c.hook_name);
    r.model = QString::fromStdString(c.model_name);
    r.activation = QString::fromStdString(sae::activationName(c.activation));
    r.normalization = QString::fromStdString(sae::normalizationName(c.normalization));
    r.tokens = QString::fromStdString(sae::tokenSelectionName(c.tokens));
    r.dIn = static_cast<int>(c.d_in);
    r.dSae = static_cast<int>(c.d_sae);
    r.k = static_cast<int>(c.k);
    for (const auto& n : loaded.notes) r.notes << QString::fromStdString(n);

    if (!databasePath.isEmpty()) try {
      const std::string dir = databasePath.toStdString();
      auto db = std::make_shared<sae::FeatureDatabase>(sae::loadFeatureDatabase(dir));
      if (db->density.size(0) != c.d_sae)
        throw Error(db->meta_path, "density",
                    "has " + std::to_string(db->density.size(0)) + " features, the SAE " + std::to_string(c.d_sae));
      const nlohmann::json& meta = db->meta;
      const std::string& json = db->meta_path;
      const std::string hook = jsonOptional<std::string>(meta, "hook", c.hook_name, json);
      if (hook != c.hook_name) throw Error(json, "hook", "is '" + hook + "', the SAE's is '" + c.hook_name + "'");
      s->db = db;
      s->dbPath = dir;
      s->dbDataset = jsonOptional<std::string>(meta, "dataset", "", json);
      s->dbSplit = jsonOptional<std::string>(meta, "split", "test", json);
      s->dbSeed = jsonOptional<uint64_t>(meta, "seed", datasets::kDefaultSeed, json);
      s->dbDatasetPath = jsonOptional<std::string>(meta, "dataset_path", "", json);
      r.databaseSource = databasePath;
      r.databaseDataset = QString::fromStdString(s->dbDataset);
      r.databaseSplit = QString::fromStdString(s->dbSplit);
      r.databaseImages = static_cast<int>(db->images);
      r.databaseSeed = s->dbSeed;
      r.databaseDatasetPath = QString::fromStdString(s->dbDatasetPath);
      r.databaseTopK = static_cast<int>(db->top_values.size(1));
      r.density = floats(db->density);
      r.meanWhenFiring = floats(db->mean_when_firing);
    } catch (const std::exception& e) {
      // A database the user chose must fit; one found beside the SAE is only a guess.
      if (!databaseFound) throw;
      s->db.reset();
      r.databaseSource.clear();
      r.density.reset();
      r.meanWhenFiring.reset();
      r.notes << QStringLiteral("The feature database beside it was not used: %1").arg(describeError(e));
    }
    state.set(s);
    return r;
  };
  return job;
}

ModelJob<FeatureEncoding> encodeImage(const ImageRequest& request) {
  ModelJob<FeatureEncoding> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("features.image");
  job.what = QStringLiteral("encoding %1").arg(request.title);
  job.run = [request](ModelState& state, JobContext<FeatureEncoding>&) {
    const auto s = sessionOf(state);
    io::LoadedModel& m = *s->model;
    const ViTConfig& cfg = m.model->cfg();
    const sae::SaeConfig& c = s->sae->cfg();
    torch::NoGradGuard no_grad;
    const torch::Tensor input = jobs::inputFor(request, m);  // [1, C, H, W]
    auto run = m.model->run_with_cache(input, filters::exact({c.hook_name}));
    const torch::Tensor act = selectTokens(run.cache[c.hook_name], c.tokens, cfg.n_prefix());  // [1, T, ...]
    const torch::Tensor acts = s->sae->encode(sae::activationRows(act, c.d_in));                           // [T, d_sae]

    FeatureEncoding r;
    r.title = request.title;
    r.input = tensorToImage(input[0], m.preprocess);
    r.gridRows = r.gridCols = cfg.grid_size();
    r.tokens = static_cast<int>(acts.size(0));
    r.firstPatch = firstPatchRow(c.tokens, cfg);
    r.dSae = static_cast<int>(c.d_sae);
    r.acts = floats(acts);
    r.classNames = classNamesOf(cfg);
    if (cfg.return_type == ReturnType::Logits) r.topk = topOf(run.output[0], r.classNames);
    return r;
  };
  return job;
}

ModelJob<FeatureDetails> featureDetails(int feature, int thumbnails) {
  ModelJob<FeatureDetails> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("features.details");
  job.what = QStringLiteral("feature %1").arg(feature);
  job.run = [feature, thumbnails](ModelState& state, JobContext<FeatureDetails>& ctx) {
    const auto s = sessionOf(state);
    FeatureDetails r;
    r.feature = feature;
    if (feature < 0 || feature >= s->sae->cfg().d_sae) throw std::runtime_error("No such feature.");
    if (!s->db) return r;
    const sae::FeatureDatabase& db = *s->db;
    r.hasDatabase = true;
    r.density = db.density[feature].item<double>();
    r.meanWhenFiring = db.mean_when_firing[feature].item<double>();
    const torch::Tensor edges = db.histogram_edges.to(torch::kFloat64).contiguous();
    const torch::Tensor counts = db.histogram[feature].to(torch::kFloat64).contiguous();
    r.histogramEdges = QVector<double>(edges.data_ptr<double>(), edges.data_ptr<double>() + edges.numel());
    r.histogramCounts = QVector<double>(counts.data_ptr<double>(), counts.data_ptr<double>() + counts.numel());

    const torch::Tensor classCounts = db.class_counts[feature];  // [classes]
    const auto [n, classes] = classCounts.topk(std::min<int64_t>(kTopClasses, classCounts.size(0)));
    for (int64_t i = 0; i < classes.size(0); ++i) {
      if (n[i].item<int64_t>() == 0) break;
      const int64_t c = classes[i].item<int64_t>();
      const QString name = c < int64_t(db.class_names.size()) ? QString::fromStdString(db.class_names[c]) : QString::number(c);
      r.topClasses << QStringLiteral("%1 (%2)").arg(name).arg(n[i].item<int64_t>());
    }

    const ViTConfig& cfg = s->model->model->cfg();
    const int first = firstPatchRow(s->sae->cfg().tokens, cfg);
    const int grid = cfg.grid_size();
    if (thumbnails > 0) openData(*s, *s->model);
    const train::Part part = s->dbSplit == "train" ? train::Part::Train : train::Part::Test;
    const std::vector<std::string> names = s->data ? s->data->dataset().classNames() : db.class_names;
    for (int64_t i = 0; i < db.top_images.size(1); ++i) {
      const int64_t position = db.top_images[feature][i].item<int64_t>();
      if (position < 0) break;
      FeatureTopImage t;
      t.position = static_cast<int>(position);
      t.value = db.top_values[feature][i].item<float>();
      const torch::Tensor tokens = db.top_token_acts[feature][i].to(torch::kFloat32).contiguous();  // [T]
      if (first >= 0 && tokens.size(0) >= first + grid * grid) t.heat = gridOf(tokens.data_ptr<float>(), first, grid, grid);
      if (s->data && i < thumbnails && position < int64_t(s->data->size(part))) {
        const train::BatchTensors b = s->data->fetch(part, {position});
        t.image = tensorToImage(b.inputs[0], s->model->preprocess);
        const int64_t label = b.labels[0].item<int64_t>();
        t.label = label < int64_t(names.size()) ? QString::fromStdString(names[label]) : QString::number(label);
      }
      r.top.push_back(std::move(t));
      if (ctx.cancelled()) break;
    }
    if (!s->data && thumbnails > 0) r.note = QString::fromStdString("No thumbnails: " + s->dataError + ".");
    return r;
  };
  return job;
}

ModelJob<FeatureEditResult> editFeature(const ImageRequest& request, int feature, double scale) {
  ModelJob<FeatureEditResult> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("features.edit");
  job.what = QStringLiteral("feature %1 \u00d7 %2").arg(feature).arg(scale);
  job.run = [request, feature, scale](ModelState& state, JobContext<FeatureEditResult>&) {
    const auto s = sessionOf(state);
    io::LoadedModel& m = *s->model;
    const ViTConfig& cfg = m.model->cfg();
    if (cfg.return_type != ReturnType::Logits) throw std::runtime_error("Editing a feature needs a model with a classification head.");
    if (feature < 0 || feature >= s->sae->cfg().d_sae) throw std::runtime_error("No such feature.");
    torch::NoGradGuard no_grad;
    const torch::Tensor input = jobs::inputFor(request, m);  // [1, C, H, W]
    const torch::Tensor clean = m.model->forward(input)[0];   // [classes]
    torch::Tensor edited;
    {
      sae::SpliceOptions o;
      o.add_error = true;
      o.edit_features = [feature, scale](torch::Tensor& acts) { acts.select(1, feature).mul_(scale); };  // acts [rows, d_sae]
      const sae::SaeSplice splice(*m.model, s->sae, o);
      edited = m.model->forward(input)[0];
    }
    FeatureEditResult r;
    r.feature = feature;
    r.scale = scale;
    const QStringList names = classNamesOf(cfg);
    r.clean = topOf(clean, names);
    r.edited = topOf(edited, names);
    const torch::Tensor probs = torch::softmax(edited.to(torch::kFloat64), -1);
    const auto [values, indices] = torch::softmax(clean.to(torch::kFloat64), -1).topk(std::min<int64_t>(kTopK, clean.size(0)));
    for (int64_t i = 0; i < indices.size(0); ++i) r.editedOfClean << probs[indices[i].item<int64_t>()].item<double>();
    return r;
  };
  return job;
}

ModelJob<FeatureDatabaseBuilt, FeatureDatabaseProgress> buildDatabase(const FeatureDatabaseRequest& request) {
  ModelJob<FeatureDatabaseBuilt, FeatureDatabaseProgress> job;
  job.lane = JobLane::Background;
  job.channel = QStringLiteral("features.database");
  job.what = QStringLiteral("building a feature database over %1/%2").arg(request.dataset, request.split);
  job.run = [request](ModelState& state, JobContext<FeatureDatabaseProgress>& ctx) {
    // Held for the whole pass: a model or SAE opened at a checkpoint replaces the state's
    // copies, not these.
    const auto s = sessionOf(state);
    io::LoadedModel& m = *s->model;
    if (request.split != QLatin1String("test") && request.split != QLatin1String("train"))
      throw Error(request.split.toStdString(), "split", "must be test or train");
    const std::shared_ptr<const train::TrainingData> dataPtr =
        databaseData(request.dataset.toStdString(), request.seed, request.datasetPath.toStdString(), m.preprocess);
    const train::TrainingData& data = *dataPtr;

    sae::FeatureDatabaseOptions o;
    o.part = request.split == QLatin1String("train") ? train::Part::Train : train::Part::Test;
    o.limit = static_cast<size_t>(std::max(0, request.limit));
    o.batch = std::max(1, request.batch);
    o.top_k = std::max(1, request.topK);
    o.stop = ctx.stopToken();
    o.progress = [&ctx](size_t done, size_t total) {
      ctx.progress([&] { return FeatureDatabaseProgress{qint64(done), qint64(total)}; });
      ctx.checkpoint();  // a click on the tab runs here, between two batches
    };
    StagedFolder folder(request.folders);
    const auto start = std::chrono::steady_clock::now();
    const sae::FeatureDatabase db = sae::buildFeatureDatabase(*m.model, s->sae, data, o);
    FeatureDatabaseBuilt r;
    r.total = static_cast<qint64>(data.evalSubset(o.part, o.limit).size());
    if (db.stopped || ctx.cancelled()) return r;  // the staged folder goes with `folder`
    const sae::SaeConfig& c = s->sae->cfg();
    const QString saeSpec = s->saeSpec.isEmpty() ? QString::fromStdString(s->saeSource) : s->saeSpec;
    // The JSON `prisma sae features` writes (app/cli/SaeCommand.cpp), so `prisma sae top`
    // and the tab read either the same way.
    sae::saveFeatureDatabase(db, folder.staging().string(),
                             {{"sae", saeSpec.toStdString()},
                              {"model", portableModel(request.model)},
                              {"hook", c.hook_name},
                              {"dataset", data.dataset().name()},
                              {"split", request.split.toStdString()},
                              {"top_k", o.top_k},
                              {"seed", request.seed},
                              {"dataset_path", request.datasetPath.toStdString()},
                              {"tokens", sae::tokenSelectionName(c.tokens)}});
    if (ctx.cancelled()) return r;
    folder.commit();
    r.folder = QString::fromStdString(folder.target().string());
    r.images = static_cast<int>(db.images);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  };
  return job;
}

ModelJob<QStringList> trainableHooks() {
  ModelJob<QStringList> job;
  job.lane = JobLane::Interactive;
  job.channel = QStringLiteral("features.hooks");
  job.what = QStringLiteral("listing hooks");
  job.run = [](ModelState& state, JobContext<QStringList>&) {
    QStringList out;
    if (!state.model) return out;
    const HookedViT& vit = state.model->model;
    for (int layer = 0; layer < vit->cfg().n_layers; ++layer)
      for (const char* suffix : {"hook_resid_pre", "hook_resid_mid", "hook_resid_post"})
        if (const std::string name = hookName(layer, suffix); vit->has_hook(name)) out << QString::fromStdString(name);
    return out;
  };
  return job;
}

QString databaseFolderName(const QString& dataset, const QString& split) {
  // A dataset may be a folder path: keep only what is safe in a file name.
  QString name = QFileInfo(dataset).fileName();
  name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]")), QStringLiteral("_"));
  if (name.isEmpty() || name.startsWith('.')) name.prepend(QStringLiteral("dataset"));
  return QStringLiteral("features-%1-%2").arg(name, split);
}

QStringList datasetNames() {
  QStringList out;
  for (const datasets::DatasetInfo& d : datasets::builtinDatasets()) out << QString::fromStdString(d.name);
  return out;
}

}  // namespace jobs
}  // namespace prisma::app
