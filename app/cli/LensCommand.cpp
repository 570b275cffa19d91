// `prisma lens`: the patch-level logit lens (model/interp/LogitLens.h) -- for every image,
// layer and token, the class the residual stream already points to and its logit.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/OutputChecks.h"

#include "model/Error.h"
#include "model/interp/LogitLens.h"
#include "model/io/InputSpec.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <iomanip>
#include <ostream>
#include <sstream>

namespace prisma::cli {

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Class names may hold commas ("tench, Tinca tinca"): quote them.
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

int lensCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"image", "out"}, {kAllowNanFlag});
  std::vector<std::string> inputs = io::modelInputPaths(a.positional(0, "MODEL"));
  inputs.push_back(io::inputSpecPath(a.required("image")));
  io::refuseOutputOverInputs(a.required("out"), io::OutputKind::File, inputs);
  auto m = io::loadModel(a.positional(0, "MODEL"));
  const ViTConfig& cfg = m.model->cfg();
  const torch::Tensor pixels = io::loadInput(a.required("image"), m);
  const std::string path = a.required("out");
  if (!endsWith(path, ".csv") && !endsWith(path, ".safetensors"))
    throw UsageError("--out must end in .csv or .safetensors");

  torch::NoGradGuard no_grad;
  auto run = m.model->run_with_cache(pixels);
  const interp::LogitLensResult lens = interp::logitLens(*m.model, run.cache);
  checkFiniteResults({{"logits", lens.logits}, {"top_logit", lens.top_logit}}, path, a.flag(kAllowNanFlag));

  if (endsWith(path, ".safetensors")) {
    io::writeSafeTensors(path,
                         {{"logits", lens.logits.contiguous()},
                          {"top_class", lens.top_class.contiguous()},
                          {"top_logit", lens.top_logit.contiguous()}},
                         {{"model", m.source}, {"image", a.required("image")}});
  } else {
    std::ostringstream f;
    f << "image,layer,stage,pos,row,col,top_class,class_name,top_logit\n" << std::setprecision(7);
    const auto cls = lens.top_class.accessor<int64_t, 3>();  // [layer + 1, batch, pos]
    const auto logit = lens.top_logit.accessor<float, 3>();
    const int64_t first_patch = cfg.n_prefix(), g = cfg.grid_size();  // after CLS and the registers
    for (int64_t b = 0; b < cls.size(1); ++b)
      for (int64_t l = 0; l < cls.size(0); ++l)
        for (int64_t p = 0; p < cls.size(2); ++p) {
          f << b << "," << l << "," << lens.labels[l] << "," << p << ",";
          if (p >= first_patch) f << (p - first_patch) / g << "," << (p - first_patch) % g;
          else f << ",";  // CLS is on no patch
          const int64_t c = cls[l][b][p];
          f << "," << c << "," << (c < int64_t(cfg.class_names.size()) ? csvField(cfg.class_names[c]) : "")
            << "," << logit[l][b][p] << "\n";
        }
    writeCsvText(path, f.str());
  }
  out << "prisma lens: " << lens.logits.size(0) << " stages x " << lens.logits.size(1) << " images x "
      << lens.logits.size(2) << " tokens; wrote " << path << "\n";
  return 0;
}

}  // namespace prisma::cli
