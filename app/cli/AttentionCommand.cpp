// `prisma attention`: one head's attention of a query over the image, every layer × head
// (--grid), attention rollout (--rollout) or gradient relevancy for a class
// (--relevancy CLASS), as a PNG heatmap over the image and/or the numbers (.safetensors,
// .csv). The library computes (model/interp); this file only draws and writes.

#include "model/vit/HookNames.h"
#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/HeatmapImage.h"
#include "app/cli/OutputChecks.h"

#include "model/Error.h"
#include "model/interp/AttentionMaps.h"
#include "model/interp/AttentionRollout.h"
#include "model/interp/Relevancy.h"
#include "model/io/InputSpec.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

namespace prisma::cli {

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string queryText(const interp::Query& q) {
  return q.cls ? "CLS" : "patch (" + std::to_string(q.row) + ", " + std::to_string(q.col) + ")";
}

// A [tokens, tokens]-matrix method's map for the query: its row over the patches. The
// default for a model without CLS is the mean row (what mean pooling reads).
torch::Tensor matrixMap(const torch::Tensor& matrix, const interp::Query* query, const ViTConfig& cfg) {
  if (!query) return interp::tokenMatrixMap(matrix, cfg);
  const int64_t g = cfg.grid_size();
  return matrix.select(1, interp::tokenIndex(*query, cfg))
      .narrow(1, cfg.n_prefix(), cfg.n_patches())
      .reshape({matrix.size(0), g, g});
}

// maps [batch, grid, grid], or [layer, head, batch, grid, grid] for the grid: one CSV row
// per image and patch.
void writeCsv(const std::string& path, const torch::Tensor& maps) {
  std::ostringstream f;
  const bool grid = maps.dim() == 5;
  const torch::Tensor all = (grid ? maps : maps.unsqueeze(0).unsqueeze(0)).to(torch::kFloat32).contiguous();
  const auto v = all.accessor<float, 5>();
  f << (grid ? "layer,head," : "") << "image,row,col,value\n" << std::setprecision(9);
  for (int64_t l = 0; l < v.size(0); ++l)
    for (int64_t h = 0; h < v.size(1); ++h)
      for (int64_t b = 0; b < v.size(2); ++b)
        for (int64_t r = 0; r < v.size(3); ++r)
          for (int64_t c = 0; c < v.size(4); ++c) {
            if (grid) f << l << "," << h << ",";
            f << b << "," << r << "," << c << "," << v[l][h][b][r][c] << "\n";
          }
  writeCsvText(path, f.str());
}

}  // namespace

int attentionCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"image", "layer", "head", "relevancy", "query", "png", "out"}, {"rollout", "grid", kAllowNanFlag});
  std::vector<std::string> inputs = io::modelInputPaths(a.positional(0, "MODEL"));
  inputs.push_back(io::inputSpecPath(a.required("image")));
  for (const char* output : {"png", "out"})
    if (a.has(output)) io::refuseOutputOverInputs(a.value(output), io::OutputKind::File, inputs);
  auto m = io::loadModel(a.positional(0, "MODEL"));
  HookedViTImpl& model = *m.model;
  const ViTConfig& cfg = model.cfg();
  const torch::Tensor pixels = io::loadInput(a.required("image"), m);  // [batch, C, H, W]
  const std::string png = a.value("png"), data = a.value("out");
  if (png.empty() && data.empty()) throw UsageError("give --png OUT.png and/or --out OUT.safetensors|.csv");
  if (!data.empty() && !endsWith(data, ".safetensors") && !endsWith(data, ".csv"))
    throw UsageError("--out must end in .safetensors or .csv");

  const bool rollout = a.flag("rollout"), relevancy = a.has("relevancy"), grid = a.flag("grid");
  const bool head = a.has("layer") || a.has("head");
  if (int(rollout) + int(relevancy) + int(grid) + int(head) != 1)
    throw UsageError("choose one of --layer L --head H, --grid, --rollout, --relevancy CLASS");
  std::optional<interp::Query> query;
  if (a.has("query")) query = interp::Query::parse(a.value("query"));
  const interp::Query q = query.value_or(interp::Query{});
  if (!query && !cfg.cls_token && (head || grid)) throw UsageError("the model has no CLS token: give --query ROW,COL");

  std::map<std::string, torch::Tensor> tensors;
  torch::Tensor maps;  // [..., batch, grid, grid]
  std::string title;
  if (rollout || relevancy) {
    torch::Tensor matrix;
    if (rollout) {
      torch::NoGradGuard no_grad;
      auto run = model.run_with_cache(pixels, filters::regex({"attn\\.hook_pattern$"}));
      matrix = interp::attentionRollout(run.cache, cfg);
      tensors["rollout"] = matrix;
      title = "attention rollout";
    } else {
      const int c = a.intValue("relevancy", 0, kNonNegative);
      if (c < 0 || c >= cfg.n_classes) throw UsageError("--relevancy: class out of range");
      matrix = interp::gradientRelevancy(model, pixels, c);
      tensors["relevancy"] = matrix;
      title = "relevancy of class " + std::to_string(c) +
              (c < int(cfg.class_names.size()) ? " (" + cfg.class_names[c] + ")" : "");
    }
    maps = matrixMap(matrix, query ? &q : nullptr, cfg);  // [batch, g, g]
    title += query ? ", query " + queryText(q) : (cfg.cls_token ? ", CLS row" : ", mean row");
  } else {
    torch::NoGradGuard no_grad;
    auto run = model.run_with_cache(pixels, filters::regex({"attn\\.hook_pattern$"}));
    const int64_t token = interp::tokenIndex(q, cfg);
    if (grid) {
      maps = interp::queryMapsAllLayers(run.cache, token, cfg);  // [layer, head, batch, g, g]
      title = "attention of " + queryText(q) + ", layers x heads";
    } else {
      const int L = a.intValue("layer", -1, kNonNegative), H = a.intValue("head", -1, kNonNegative);
      if (L < 0 || L >= cfg.n_layers) throw UsageError("--layer out of range [0, " + std::to_string(cfg.n_layers) + ")");
      if (H < 0 || H >= cfg.n_heads) throw UsageError("--head out of range [0, " + std::to_string(cfg.n_heads) + ")");
      const torch::Tensor pattern = run.cache[hookName(L, "attn.hook_pattern")];
      tensors["pattern"] = pattern.select(1, H).contiguous();  // [batch, q, k]
      maps = interp::queryMap(pattern, token, cfg).select(1, H);  // [batch, g, g]
      title = "L" + std::to_string(L) + " H" + std::to_string(H) + ", query " + queryText(q);
    }
  }
  tensors["map"] = maps.contiguous();
  checkFiniteResults(tensors, data.empty() ? png : data, a.flag(kAllowNanFlag));

  if (!data.empty()) {
    if (endsWith(data, ".csv")) writeCsv(data, maps);
    else io::writeSafeTensors(data, tensors, {{"model", m.source}, {"image", a.required("image")}, {"title", title}});
    out << "wrote " << data << "\n";
  }
  if (!png.empty()) {
    // The first image of a batch is drawn; the numbers above cover all of them.
    const cv::Mat image = displayImage(pixels[0], m.preprocess);
    const cv::Mat canvas = grid ? renderHeatmapGrid(image, maps.select(2, 0), title, "L", "H")
                                : renderHeatmap(image, maps[0], title);
    writePng(png, canvas);
    out << "wrote " << png << " (" << canvas.cols << "x" << canvas.rows << ")\n";
  }
  return 0;
}

}  // namespace prisma::cli
