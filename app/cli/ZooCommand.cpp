// `prisma zoo list` and `prisma zoo build [--only NAME]... [--out DIR] [--mice DIR]`: the
// mice of resources/zoo/zoo.json, their shipped metrics, and their reproducible training
// (model/zoo/ZooBuilder.h) into run folders and the mice folder.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"

#include "model/Error.h"
#include "model/core/Numbers.h"
#include "model/io/ResourcePaths.h"
#include "model/train/ClassifierObjective.h"
#include "model/zoo/ZooBuilder.h"
#include "model/zoo/ZooManifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <iostream>
#include <ostream>

namespace fs = std::filesystem;

namespace prisma::cli {

namespace {

constexpr const char* kUsage =
    "usage: prisma zoo list [--markdown] [--manifest FILE]\n"
    "       prisma zoo build [--only NAME]... [--out RUNS_DIR] [--mice DIR] [--manifest FILE]";
constexpr const char* kDefaultRunsDir = "zoo-runs";
constexpr int kTop5 = 5;  // top-5 says nothing with five classes or fewer

std::string miceDirOf(const std::string& manifestPath) {
  // resources/zoo/zoo.json -> resources/mice
  return (fs::path(manifestPath).parent_path().parent_path() / io::kMiceFolder).string();
}

std::string numberOr(const nlohmann::json& j, const char* key, int digits) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return "-";
  return formatFixed(j.at(key).get<double>(), digits);
}

int list(const zoo::ZooManifest& m, const std::string& miceDir, std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-17s %6s %9s %10s %8s %8s %8s\n", "name", "dataset", "layers", "attn-only",
                "parameters", "test acc", "top-5", "train s");
  out << line;
  for (const auto& e : m.entries) {
    const auto config = zoo::entryConfig(e);
    const nlohmann::json metrics = zoo::readMouseMetrics((fs::path(miceDir) / e.name).string());
    const nlohmann::json test = metrics.is_object() ? metrics.value("test", nlohmann::json()) : nlohmann::json();
    const std::string params =
        metrics.is_object() && metrics.contains("parameters") ? std::to_string(metrics.at("parameters").get<int64_t>()) : "-";
    std::snprintf(line, sizeof line, "%-24s %-17s %6d %9s %10s %8s %8s %8s\n", e.name.c_str(), e.dataset_label.c_str(),
                  config.model.n_layers, config.model.attn_only ? "yes" : "no", params.c_str(),
                  numberOr(test, "accuracy", 4).c_str(), numberOr(test, "top5", 4).c_str(),
                  numberOr(metrics, "training_seconds", 0).c_str());
    out << line;
  }
  return 0;
}

// README tables in ViT-Prisma's style: one per dataset, layers down, the two kinds across.
int markdown(const zoo::ZooManifest& m, const std::string& miceDir, std::ostream& out) {
  std::vector<std::string> labels;
  for (const auto& e : m.entries)
    if (std::find(labels.begin(), labels.end(), e.dataset_label) == labels.end()) labels.push_back(e.dataset_label);
  auto cell = [](const nlohmann::json& metrics, bool top5, double reference) {
    std::string s = "not built";
    if (metrics.is_object()) {
      const auto& t = metrics.at("test");
      s = numberOr(t, "accuracy", 4);
      if (top5) s += " / " + numberOr(t, "top5", 4);
      s += " (" + numberOr(metrics, "training_seconds", 0) + " s)";
    }
    if (reference >= 0.0) s += "; ViT-Prisma " + formatFixed(reference, 3);
    return s;
  };
  for (const auto& label : labels) {
    int classes = 0;
    std::map<int, std::pair<std::string, std::string>> rows;  // layers -> (full, attn-only)
    for (const auto& e : m.entries) {
      if (e.dataset_label != label) continue;
      const auto config = zoo::entryConfig(e);
      classes = config.model.n_classes;
      const nlohmann::json metrics = zoo::readMouseMetrics((fs::path(miceDir) / e.name).string());
      const std::string c = "`" + e.name + "` " + cell(metrics, classes > kTop5, e.reference_accuracy);
      (config.model.attn_only ? rows[config.model.n_layers].second : rows[config.model.n_layers].first) = c;
    }
    out << "\n**" << label << "** (" << classes << " classes; test accuracy" << (classes > kTop5 ? " / top-5" : "")
        << ", training time)\n\n| layers | Attention + MLP | Attention-only |\n|---|---|---|\n";
    for (const auto& [layers, r] : rows)
      out << "| " << layers << " | " << (r.first.empty() ? "—" : r.first) << " | " << (r.second.empty() ? "—" : r.second)
          << " |\n";
  }
  return 0;
}

int build(const zoo::ZooManifest& m, const CliArgs& a, const std::string& miceDir, std::ostream& out) {
  std::vector<const zoo::ZooEntry*> todo;
  for (const auto& name : a.values("only")) {
    const auto* e = m.find(name);
    if (!e) throw UsageError("no zoo entry '" + name + "' in " + m.path + " (see prisma zoo list)");
    todo.push_back(e);
  }
  if (todo.empty())
    for (const auto& e : m.entries) todo.push_back(&e);
  zoo::BuildOptions o;
  o.runs_dir = a.value("out", kDefaultRunsDir);
  o.mice_dir = miceDir;
  o.log = [](const std::string& line) { std::cerr << line << std::endl; };
  o.progress = [](const train::TrainProgress& p) {
    if (p.phase != train::TrainPhase::Evaluated || !p.row) return;
    const train::EvalMetrics test = train::classifierMetrics(*p.row, train::Part::Test);
    std::cerr << "  step " << p.row->step << "/" << p.total_steps << ": test acc " << test.top1 << " (loss " << test.loss
              << "), " << static_cast<long long>(p.elapsed_s) << " s" << std::endl;
  };
  char line[256];
  for (const auto* e : todo) {
    const auto r = zoo::buildMouse(*e, o);
    std::snprintf(line, sizeof line, "%-24s test acc %.4f top-5 %.4f  %lld steps  %.0f s  %s\n", r.name.c_str(),
                  r.test.top1, r.test.top5, static_cast<long long>(r.steps), r.training_seconds, io::toString(r.storage).c_str());
    out << line << std::flush;
  }
  return 0;
}

}  // namespace

int zooCommand(const Args& args, std::ostream& out) {
  if (args.empty()) throw UsageError(kUsage);
  const std::string sub = args[0];
  CliArgs a(Args(args.begin() + 1, args.end()), {"only", "out", "mice", "manifest"}, {"markdown"});
  if (!a.positionals().empty()) throw UsageError("unexpected argument '" + a.positionals()[0] + "'\n" + kUsage);
  const zoo::ZooManifest m =
      zoo::readZooManifest(a.has("manifest") ? a.value("manifest") : zoo::defaultZooManifestPath());
  const std::string miceDir = a.value("mice", miceDirOf(m.path));
  if (sub == "list") return a.flag("markdown") ? markdown(m, miceDir, out) : list(m, miceDir, out);
  if (sub == "build") return build(m, a, miceDir, out);
  throw UsageError("unknown zoo command '" + sub + "'\n" + kUsage);
}

}  // namespace prisma::cli
