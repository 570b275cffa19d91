#include "model/vit/HookNames.h"
#include "model/interp/PatchComponent.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <algorithm>

namespace prisma::interp {

namespace {

struct KindInfo {
  ComponentKind kind;
  const char* name;
  const char* hook_suffix;
  bool needs_mlp;
};

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> table = {
      {ComponentKind::ResidPre, "resid_pre", "hook_resid_pre", false},
      {ComponentKind::ResidMid, "resid_mid", "hook_resid_mid", true},
      {ComponentKind::ResidPost, "resid_post", "hook_resid_post", false},
      {ComponentKind::AttnOut, "attn_out", "hook_attn_out", false},
      {ComponentKind::MlpOut, "mlp_out", "hook_mlp_out", true},
      {ComponentKind::HeadZ, "head_z", "attn.hook_z", false},
      {ComponentKind::HeadZByPos, "head_z_by_pos", "attn.hook_z", false},
      {ComponentKind::HeadQ, "head_q", "attn.hook_q", false},
      {ComponentKind::HeadK, "head_k", "attn.hook_k", false},
      {ComponentKind::HeadV, "head_v", "attn.hook_v", false},
      {ComponentKind::HeadPattern, "head_pattern", "attn.hook_pattern", false},
  };
  return table;
}

const KindInfo& info(ComponentKind kind) {
  for (const auto& k : kinds())
    if (k.kind == kind) return k;
  throw Error("patching", "component", "unknown component kind");
}

// Setters: act [batch, ...] (one row per run), clean [1, ...].

// [batch, pos, ...]: one position, everything after it.
void setPos(torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex& c) {
  act[row][c[1]].copy_(clean[0][c[1]]);
}

// [batch, pos, head, d_head]: one head at every position.
void setHead(torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex& c) {
  act[row].select(1, c[1]).copy_(clean[0].select(1, c[1]));
}

// [batch, pos, head, d_head]: one head at one position; the cell is (layer, pos, head).
void setPosHead(torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex& c) {
  act[row][c[1]][c[2]].copy_(clean[0][c[1]][c[2]]);
}

// [batch, head, q, k]: one head's whole pattern.
void setPattern(torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex& c) {
  act[row][c[1]].copy_(clean[0][c[1]]);
}

void requireModelHas(const KindInfo& k, const ViTConfig& cfg) {
  if (!hasComponent(k.kind, cfg))
    throw Error("patching", k.name, "an attention-only model has no MLP or resid_mid");
}

}  // namespace

std::string toString(Axis axis) {
  switch (axis) {
    case Axis::Layer: return "layer";
    case Axis::Pos: return "pos";
    case Axis::Head: return "head";
  }
  return "?";
}

std::string PatchComponent::hook_name(int64_t layer) const {
  return hookName(layer, hook_suffix);
}

int64_t PatchComponent::cell_count() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::vector<CellIndex> PatchComponent::cells() const {
  std::vector<CellIndex> out;
  out.reserve(static_cast<size_t>(cell_count()));
  CellIndex c(shape.size(), 0);
  for (int64_t i = 0; i < cell_count(); ++i) {
    out.push_back(c);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
  return out;
}

int64_t PatchComponent::offset(const CellIndex& cell) const {
  int64_t o = 0;
  for (size_t d = 0; d < shape.size(); ++d) o = o * shape[d] + cell[d];
  return o;
}

void PatchComponent::check(const CellIndex& cell) const {
  if (cell.size() != shape.size())
    throw Error("patching", name,
                "a cell needs " + std::to_string(shape.size()) + " indices, got " + std::to_string(cell.size()));
  for (size_t d = 0; d < shape.size(); ++d)
    if (cell[d] < 0 || cell[d] >= shape[d])
      throw Error("patching", name + "." + toString(axes[d]),
                  "index " + std::to_string(cell[d]) + " outside [0, " + std::to_string(shape[d]) + ")");
}

const std::vector<ComponentKind>& allComponentKinds() {
  static const std::vector<ComponentKind> all = [] {
    std::vector<ComponentKind> k;
    for (const auto& i : kinds()) k.push_back(i.kind);
    return k;
  }();
  return all;
}

const std::vector<std::string>& componentNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& k : kinds()) n.push_back(k.name);
    return n;
  }();
  return names;
}

std::string toString(ComponentKind kind) { return info(kind).name; }

ComponentKind componentKindFromName(const std::string& name) {
  for (const auto& k : kinds())
    if (name == k.name) return k.kind;
  std::string all;
  for (const auto& n : componentNames()) all += (all.empty() ? "" : ", ") + n;
  throw Error("patching", "component", "unknown component '" + name + "' (known: " + all + ")");
}

bool hasComponent(ComponentKind kind, const ViTConfig& cfg) { return !(info(kind).needs_mlp && cfg.attn_only); }

std::vector<ComponentKind> availableComponents(const ViTConfig& cfg) {
  std::vector<ComponentKind> out;
  for (ComponentKind k : allComponentKinds())
    if (hasComponent(k, cfg)) out.push_back(k);
  return out;
}

PatchComponent makeComponent(ComponentKind kind, const ViTConfig& cfg) {
  const KindInfo& k = info(kind);
  requireModelHas(k, cfg);
  const int64_t L = cfg.n_layers, T = cfg.n_tokens(), H = cfg.n_heads;
  PatchComponent c;
  c.name = k.name;
  c.hook_suffix = k.hook_suffix;
  switch (kind) {
    case ComponentKind::ResidPre:
    case ComponentKind::ResidMid:
    case ComponentKind::ResidPost:
    case ComponentKind::AttnOut:
    case ComponentKind::MlpOut:
      c.axes = {Axis::Layer, Axis::Pos};
      c.shape = {L, T};
      c.setter = setPos;
      c.reduce = [](const torch::Tensor& p) { return p[0].sum(-1); };  // [pos, d_model] -> [pos]
      break;
    case ComponentKind::HeadZ:
    case ComponentKind::HeadQ:
    case ComponentKind::HeadK:
    case ComponentKind::HeadV:
      c.axes = {Axis::Layer, Axis::Head};
      c.shape = {L, H};
      c.setter = setHead;
      c.reduce = [](const torch::Tensor& p) { return p[0].sum(torch::IntArrayRef{0, 2}); };  // [pos, head, d_head] -> [head]
      break;
    case ComponentKind::HeadZByPos:
      c.axes = {Axis::Layer, Axis::Pos, Axis::Head};
      c.shape = {L, T, H};
      c.setter = setPosHead;
      c.reduce = [](const torch::Tensor& p) { return p[0].sum(-1); };  // -> [pos, head]
      break;
    case ComponentKind::HeadPattern:
      c.axes = {Axis::Layer, Axis::Head};
      c.shape = {L, H};
      c.setter = setPattern;
      c.reduce = [](const torch::Tensor& p) { return p[0].sum(torch::IntArrayRef{1, 2}); };  // [head, q, k] -> [head]
      break;
  }
  return c;
}

bool patchesPositions(ComponentKind kind) {
  return kind != ComponentKind::HeadPattern && kind != ComponentKind::HeadZByPos;
}

PatchComponent makePositionsComponent(ComponentKind kind, std::vector<int64_t> positions,
                                      const ViTConfig& cfg) {
  const KindInfo& k = info(kind);
  requireModelHas(k, cfg);
  if (!patchesPositions(kind))
    throw Error("patching", k.name, "a set of positions patches residuals, attn_out, mlp_out or head z/q/k/v");
  if (positions.empty()) throw Error("patching", "positions", "the set of positions is empty");
  const int64_t T = cfg.n_tokens();
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  for (int64_t p : positions)
    if (p < 0 || p >= T)
      throw Error("patching", "positions", "position " + std::to_string(p) + " outside [0, " + std::to_string(T) + ")");

  const torch::Tensor index = torch::tensor(positions, torch::kLong);
  PatchComponent c;
  c.name = std::string(k.name) + "@positions";
  c.hook_suffix = k.hook_suffix;
  c.axes = {Axis::Layer};
  c.shape = {cfg.n_layers};
  // Every one of these hooks has its positions on axis 1 ([batch, pos, ...]).
  c.setter = [index](torch::Tensor& act, int64_t row, const torch::Tensor& clean, const CellIndex&) {
    act[row].index_copy_(0, index, clean[0].index_select(0, index));
  };
  c.reduce = [index](const torch::Tensor& p) { return p[0].index_select(0, index).sum(); };
  return c;
}

}  // namespace prisma::interp
