// Activation, attribution and path patching (model/interp) against the patching reference
// computed with plain PyTorch hooks on the Hugging Face classifier
// (../shared/fixtures/hf_vit_classifier/patching_reference.safetensors), plus the facts
// every correct implementation must satisfy.

#include "Tolerances.h"
#include "TestUtil.h"

#include "model/Error.h"
#include "model/interp/ActivationPatching.h"
#include "model/interp/AttributionPatching.h"
#include "model/interp/PathPatching.h"
#include "model/interp/PooledReadout.h"
#include "model/io/ModelLoader.h"

#include <QtTest>

#include <atomic>
#include <numeric>

using namespace prisma;
using namespace prisma::interp;
using prisma::test::fixture;
using prisma::test::relL2;

Q_DECLARE_METATYPE(prisma::interp::PatchMethod)

namespace {
using prisma::test::kPatchTolerance;
using prisma::test::kExactTolerance;
constexpr int kCleanClass = 0;            // patching_reference labels = [0, 3]
constexpr int kCorruptClass = 3;
constexpr uint64_t kRandomModelSeed = 7;
constexpr double kRandomWeightStd = 0.2;  // the fixtures' scale: every parameter matters
constexpr double kRandomLnSpread = 0.1;

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// A 2-layer attention-only model (LayerNorm unless told otherwise) with large random weights: its residual
// stream is embeddings plus attention outputs only, so some path-patching results have a
// closed form.
HookedViT randomAttentionOnlyModel(Normalization normalization = Normalization::LN) {
  ViTConfig c;
  c.normalization = normalization;
  c.image_size = 16; c.patch_size = 4; c.n_channels = 3; c.d_model = 32; c.n_heads = 4;
  c.d_head = 8; c.d_mlp = 64; c.n_layers = 2; c.n_classes = 5; c.attn_only = true;
  HookedViT m(c);
  torch::NoGradGuard no_grad;
  torch::manual_seed(kRandomModelSeed);
  for (auto& item : m->named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    if (name.size() >= 2 && name.compare(name.size() - 2, 2, ".w") == 0) p.normal_(1.0, kRandomLnSpread);
    else p.normal_(0.0, kRandomWeightStd);
  }
  m->eval();
  return m;
}

}  // namespace

class TestInterpPatching : public QObject {
  Q_OBJECT

private:
  io::LoadedModel hf_;
  std::unique_ptr<io::SafeTensorsFile> ref_;
  torch::Tensor clean_, corrupt_;
  PatchingPair pair_;
  Metric metric_ = metrics::logitDiff(kCleanClass, kCorruptClass);

  const ViTConfig& cfg() const { return hf_.model->cfg(); }

  void addComponentRows() {
    QTest::addColumn<QString>("component");
    for (const auto& n : componentNames()) QTest::newRow(n.c_str()) << QString::fromStdString(n);
  }

private slots:
  void initTestCase() {
    hf_ = io::loadModel(fixture("hf_vit_classifier"));
    ref_ = std::make_unique<io::SafeTensorsFile>(fixture("hf_vit_classifier/patching_reference.safetensors"));
    io::SafeTensorsFile inputs(fixture("hf_vit_classifier/reference.safetensors"));
    const torch::Tensor pixels = inputs.float_tensor("pixel_values");
    clean_ = pixels.slice(0, 0, 1);
    corrupt_ = pixels.slice(0, 1, 2);
    pair_ = runPair(*hf_.model, clean_, corrupt_);
  }

  void unpatchedRunsMatchReference() {
    QCOMPARE(ref_->float_tensor("labels")[0].item<int>(), kCleanClass);
    QCOMPARE(ref_->float_tensor("labels")[1].item<int>(), kCorruptClass);
    QCOMPARE(pair_.clean_logits.argmax(1).item<int>(), kCleanClass);
    QCOMPARE(pair_.corrupt_logits.argmax(1).item<int>(), kCorruptClass);
    QVERIFY(relL2(metric_(pair_.clean_logits), ref_->float_tensor("clean_metric")) < kPatchTolerance);
    QVERIFY(relL2(metric_(pair_.corrupt_logits), ref_->float_tensor("corrupt_metric")) < kPatchTolerance);
  }

  void activationPatchingMatchesReference_data() {
    QTest::addColumn<QString>("component");
    QTest::addColumn<PatchMethod>("method");
    QTest::addColumn<int>("batch");
    QTest::addColumn<QString>("reference");
    QTest::newRow("resid_pre fast") << "resid_pre" << PatchMethod::Fast << 0 << "resid_pre_patch";
    QTest::newRow("resid_pre fast, batches of 5") << "resid_pre" << PatchMethod::Fast << 5 << "resid_pre_patch";
    QTest::newRow("resid_pre per-cell forward") << "resid_pre" << PatchMethod::PerCellForward << 0 << "resid_pre_patch";
    QTest::newRow("head_z fast") << "head_z" << PatchMethod::Fast << 0 << "head_z_patch";
    QTest::newRow("head_z fast, batches of 3") << "head_z" << PatchMethod::Fast << 3 << "head_z_patch";
    QTest::newRow("head_z per-cell forward") << "head_z" << PatchMethod::PerCellForward << 0 << "head_z_patch";
  }

  void activationPatchingMatchesReference() {
    QFETCH(QString, component);
    QFETCH(PatchMethod, method);
    QFETCH(int, batch);
    QFETCH(QString, reference);
    const PatchComponent comp = makeComponent(componentKindFromName(component.toStdString()), cfg());
    PatchOptions options;
    options.method = method;
    options.batch_size = batch;
    const PatchResult r = activationPatch(*hf_.model, pair_, comp, metric_, options);
    QVERIFY(!r.stopped);
    QCOMPARE(r.cells_done, comp.cell_count());
    const torch::Tensor expected = ref_->float_tensor(reference.toStdString());
    QCOMPARE(r.values.sizes().vec(), expected.sizes().vec());
    const double err = relL2(r.values, expected);
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // The fast path (start at the patched layer, many cells per batch) against one full
  // forward pass per cell, for every component.
  void fastEqualsPerCellForward_data() { addComponentRows(); }

  void fastEqualsPerCellForward() {
    QFETCH(QString, component);
    const PatchComponent comp = makeComponent(componentKindFromName(component.toStdString()), cfg());
    PatchOptions slow;
    slow.method = PatchMethod::PerCellForward;
    const torch::Tensor fast = activationPatch(*hf_.model, pair_, comp, metric_).values;
    const torch::Tensor reference = activationPatch(*hf_.model, pair_, comp, metric_, slow).values;
    QVERIFY(!torch::isnan(fast).any().item<bool>());
    const double diff = maxAbsDiff(fast, reference);
    QVERIFY2(diff <= kExactTolerance, qPrintable(QStringLiteral("max abs diff %1").arg(diff)));
    // The grid is not trivially the corrupted metric: patching did something.
    QVERIFY(maxAbsDiff(fast, metric_(pair_.corrupt_logits).expand(fast.sizes())) > 1e-3);
  }

  // Clean into clean: every patch writes the value the run already has.
  void cleanIntoCleanLeavesCleanMetric_data() { addComponentRows(); }

  void cleanIntoCleanLeavesCleanMetric() {
    QFETCH(QString, component);
    const PatchingPair same = runPair(*hf_.model, clean_, clean_);
    const PatchComponent comp = makeComponent(componentKindFromName(component.toStdString()), cfg());
    const PatchResult r = activationPatch(*hf_.model, same, comp, metric_);
    const double clean = metricValue(metric_, pair_.clean_logits);
    const double diff = maxAbsDiff(r.values, torch::full_like(r.values, clean));
    QVERIFY2(diff <= kExactTolerance, qPrintable(QStringLiteral("max abs diff %1").arg(diff)));
  }

  // Patching every position of a residual stream replaces the whole stream: the clean run.
  void allPositionsOfTheResidualGiveCleanMetric_data() {
    QTest::addColumn<QString>("component");
    QTest::newRow("resid_pre") << "resid_pre";
    QTest::newRow("resid_mid") << "resid_mid";
    QTest::newRow("resid_post") << "resid_post";
  }

  void allPositionsOfTheResidualGiveCleanMetric() {
    QFETCH(QString, component);
    std::vector<int64_t> all(static_cast<size_t>(cfg().n_tokens()));
    std::iota(all.begin(), all.end(), 0);
    const PatchComponent comp = makePositionsComponent(componentKindFromName(component.toStdString()), all, cfg());
    QCOMPARE(comp.shape, std::vector<int64_t>{cfg().n_layers});
    const PatchResult r = activationPatch(*hf_.model, pair_, comp, metric_);
    const double clean = metricValue(metric_, pair_.clean_logits);
    QVERIFY2(std::abs(r.values[0].item<double>() - clean) <= kExactTolerance, "layer 0");
    QVERIFY(maxAbsDiff(r.values, torch::full_like(r.values, clean)) <= kExactTolerance);
  }

  // A free-form region: the same as patching its positions one by one when it is one
  // position, and exact against the per-cell reference for a larger set.
  void positionSetPatch() {
    const PatchComponent one = makePositionsComponent(ComponentKind::ResidPre, {5}, cfg());
    const torch::Tensor grid = ref_->float_tensor("resid_pre_patch");
    const torch::Tensor r = activationPatch(*hf_.model, pair_, one, metric_).values;
    QVERIFY(relL2(r, grid.select(1, 5)) < kPatchTolerance);

    const PatchComponent region = makePositionsComponent(ComponentKind::HeadZ, {1, 2, 5, 6}, cfg());
    PatchOptions slow;
    slow.method = PatchMethod::PerCellForward;
    QVERIFY(maxAbsDiff(activationPatch(*hf_.model, pair_, region, metric_).values,
                       activationPatch(*hf_.model, pair_, region, metric_, slow).values) <= kExactTolerance);
    QVERIFY_THROWS_EXCEPTION(prisma::Error, makePositionsComponent(ComponentKind::ResidPre, {17}, cfg()));
    QVERIFY_THROWS_EXCEPTION(prisma::Error, makePositionsComponent(ComponentKind::ResidPre, {}, cfg()));
    // Every hook with a position axis over all heads takes a region; the per-head-position
    // grid and the pattern ([head, q, k]) do not, and the board offers what this says.
    for (const auto& name : componentNames())
      QCOMPARE(patchesPositions(componentKindFromName(name)), name != "head_pattern" && name != "head_z_by_pos");
    QVERIFY_THROWS_EXCEPTION(prisma::Error, makePositionsComponent(ComponentKind::HeadPattern, {1}, cfg()));
  }

  void subsetOfCells() {
    const PatchComponent comp = makeComponent(ComponentKind::ResidPre, cfg());
    PatchOptions options;
    options.cells = std::vector<CellIndex>{{1, 5}, {2, 0}};
    const PatchResult r = activationPatch(*hf_.model, pair_, comp, metric_, options);
    QCOMPARE(r.cells_done, int64_t(2));
    QCOMPARE(torch::isnan(r.values).logical_not().sum().item<int64_t>(), int64_t(2));
    const torch::Tensor expected = ref_->float_tensor("resid_pre_patch");
    QVERIFY(std::abs(r.values[1][5].item<double>() - expected[1][5].item<double>()) < kExactTolerance);
    QVERIFY(std::abs(r.values[2][0].item<double>() - expected[2][0].item<double>()) < kExactTolerance);
    options.cells = std::vector<CellIndex>{{3, 0}};
    QVERIFY_THROWS_EXCEPTION(prisma::Error, activationPatch(*hf_.model, pair_, comp, metric_, options));
  }

  void progressIsReportedAndStopEndsBetweenBatches() {
    const PatchComponent comp = makeComponent(ComponentKind::ResidPre, cfg());
    constexpr int kBatch = 4;
    std::atomic<bool> stop{false};
    std::vector<int64_t> done;
    PatchOptions options;
    options.batch_size = kBatch;
    options.stop = &stop;
    options.on_progress = [&](const PatchProgress& p) {
      done.push_back(p.done);
      QCOMPARE(p.total, comp.cell_count());
      QCOMPARE(p.values.size(0), int64_t(p.cells->size()));
      if (done.size() == 2) stop = true;
    };
    const PatchResult r = activationPatch(*hf_.model, pair_, comp, metric_, options);
    QVERIFY(r.stopped);
    QCOMPARE(done.size(), size_t(2));
    QCOMPARE(r.cells_done, done.back());
    QVERIFY(r.cells_done <= 2 * kBatch);
    QCOMPARE(torch::isnan(r.values).logical_not().sum().item<int64_t>(), r.cells_done);

    // Without the stop, progress reaches every cell in even batches (17 = 4+4+4+4+1 -> 5×≤4).
    stop = false;
    done.clear();
    options.stop = nullptr;
    activationPatch(*hf_.model, pair_, comp, metric_, options);
    QCOMPARE(done.back(), comp.cell_count());
  }

  void attributionMatchesReference() {
    const PatchComponent comp = makeComponent(ComponentKind::ResidPre, cfg());
    const torch::Tensor a = attributionPatch(*hf_.model, pair_, comp, metric_);
    const double err = relL2(a, ref_->float_tensor("resid_pre_attribution"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // Each component's vectorised reduction against the definition through its setter
  // (one cell at a time), all grids from one backward pass.
  void attributionForEveryGrid() {
    std::vector<PatchComponent> comps;
    for (const auto& n : componentNames()) comps.push_back(makeComponent(componentKindFromName(n), cfg()));
    comps.push_back(makePositionsComponent(ComponentKind::AttnOut, {0, 3, 4}, cfg()));
    const std::vector<torch::Tensor> grids = attributionPatch(*hf_.model, pair_, comps, metric_);
    QCOMPARE(grids.size(), comps.size());

    auto run = hf_.model->run_with_cache_and_grads(
        corrupt_, [this](const torch::Tensor& l) { return metric_(l).sum(); }, hooksOf(comps, cfg()));
    for (size_t i = 0; i < comps.size(); ++i) {
      PatchComponent bySetter = comps[i];
      bySetter.reduce = nullptr;
      const torch::Tensor expected = attributionFromCaches(bySetter, pair_.clean, run.cache, run.grads);
      QCOMPARE(grids[i].sizes().vec(), comps[i].shape);
      QVERIFY2(maxAbsDiff(grids[i], expected) < 1e-5, comps[i].name.c_str());
    }
  }

  // Where the metric is linear in the patched activation, the first-order approximation is
  // exact: without LayerNorm, the logits are linear in the last layer's resid_post.
  void attributionIsExactWhereTheMetricIsLinear() {
    HookedViT m = randomAttentionOnlyModel(Normalization::None);
    torch::manual_seed(3);
    const PatchingPair pair = runPair(*m, torch::randn({1, 3, 16, 16}), torch::randn({1, 3, 16, 16}));
    const Metric metric = metrics::logitDiff(0, 1);
    const PatchComponent comp = makeComponent(ComponentKind::ResidPost, m->cfg());
    const torch::Tensor predicted = attributionPatch(*m, pair, comp, metric).select(0, 1);
    const torch::Tensor real = activationPatch(*m, pair, comp, metric).values.select(0, 1) -
                               metricValue(metric, pair.corrupt_logits);
    QVERIFY(real.abs().max().item<double>() > 1e-2);  // CLS moved the metric
    QVERIFY2(maxAbsDiff(predicted, real) < 1e-4, qPrintable(QStringLiteral("%1").arg(maxAbsDiff(predicted, real))));
  }

  // With every later head (all three inputs) and the final residual as receivers, the
  // sender's effect flows along every path: path patching = activation patching.
  void pathPatchingWithAllDownstreamReceiversEqualsActivationPatching() {
    const torch::Tensor act = activationPatch(*hf_.model, pair_, makeComponent(ComponentKind::HeadZ, cfg()), metric_).values;
    const PatchResult sweep = pathPatchSweep(*hf_.model, pair_, allDownstream(cfg(), -1), metric_);
    QCOMPARE(sweep.values.sizes().vec(), act.sizes().vec());
    QVERIFY2(maxAbsDiff(sweep.values, act) <= kExactTolerance,
             qPrintable(QStringLiteral("max abs diff %1").arg(maxAbsDiff(sweep.values, act))));
    for (int l = 0; l < cfg().n_layers; ++l) {
      const double one = pathPatch(*hf_.model, pair_, {{l, 2}}, allDownstream(cfg(), l), metric_);
      QVERIFY(std::abs(one - act[l][2].item<double>()) <= kExactTolerance);
    }
    QVERIFY(maxAbsDiff(act, ref_->float_tensor("head_z_patch")) < 1e-4);
  }

  // Attention-only, every other head frozen: the final residual moves by exactly the
  // sender's own output change, (z_clean − z_corrupt)·W_O.
  void pathPatchingToTheFinalResidualIsTheDirectEffect() {
    HookedViT m = randomAttentionOnlyModel();
    torch::manual_seed(1);
    const torch::Tensor a = torch::randn({1, 3, 16, 16}), b = torch::randn({1, 3, 16, 16});
    const PatchingPair pair = runPair(*m, a, b);
    const Metric metric = metrics::logitDiff(0, 1);
    PathReceivers final_only;
    final_only.final_resid = true;
    const PatchResult sweep = pathPatchSweep(*m, pair, final_only, metric);
    torch::NoGradGuard no_grad;
    RunOptions head_only;
    head_only.start_at_layer = m->cfg().n_layers;
    for (int l = 0; l < 2; ++l)
      for (int h = 0; h < 4; ++h) {
        const std::string z = "blocks." + std::to_string(l) + ".attn.hook_z";
        const torch::Tensor dz = (pair.clean[z] - pair.corrupt[z]).select(2, h);        // [1, pos, d_head]
        const torch::Tensor delta = torch::matmul(dz, m->block(l).attn->W_O[h].detach());  // [1, pos, d_model]
        const torch::Tensor final_resid = pair.corrupt["blocks.1.hook_resid_post"] + delta;
        const double expected = metricValue(metric, m->forward(final_resid, head_only));
        const double got = sweep.values[l][h].item<double>();
        QVERIFY2(std::abs(got - expected) <= kExactTolerance * std::max(1.0, std::abs(expected)),
                 qPrintable(QStringLiteral("L%1H%2: %3 vs %4").arg(l).arg(h).arg(got).arg(expected)));
      }
  }

  // Receivers in one layer (Wang et al.'s case): layer-1 heads see the layer-0 sender's
  // change through their q/k/v, while the residual stream itself stays corrupted.
  void pathPatchingThroughOneLayerOfReceivers() {
    HookedViT m = randomAttentionOnlyModel();
    torch::manual_seed(2);
    const torch::Tensor a = torch::randn({1, 3, 16, 16}), b = torch::randn({1, 3, 16, 16});
    const PatchingPair pair = runPair(*m, a, b);
    const Metric metric = metrics::logitDiff(0, 1);
    PathReceivers layer1;
    for (int h = 0; h < 4; ++h) layer1.heads.push_back({1, h});
    torch::NoGradGuard no_grad;
    RunOptions head_only;
    head_only.start_at_layer = 2;
    const torch::Tensor pre1 = pair.corrupt["blocks.1.hook_resid_pre"];
    for (int h = 0; h < 4; ++h) {
      const torch::Tensor dz = (pair.clean["blocks.0.attn.hook_z"] - pair.corrupt["blocks.0.attn.hook_z"]).select(2, h);
      const torch::Tensor seen = pre1 + torch::matmul(dz, m->block(0).attn->W_O[h].detach());
      auto& blk = m->block(1);
      const torch::Tensor attn_out = blk.attn->forward(blk.ln1->forward(seen));
      const double expected = metricValue(metric, m->forward(pre1 + attn_out, head_only));
      const double got = pathPatch(*m, pair, {{0, h}}, layer1, metric);
      QVERIFY2(std::abs(got - expected) <= kExactTolerance * std::max(1.0, std::abs(expected)),
               qPrintable(QStringLiteral("H%1: %2 vs %3").arg(h).arg(got).arg(expected)));
    }
    // A sender after every receiver cannot reach them: the corrupted metric.
    const double corrupt = metricValue(metric, pair.corrupt_logits);
    QVERIFY(std::abs(pathPatch(*m, pair, {{1, 0}}, layer1, metric) - corrupt) <= kExactTolerance);
    QVERIFY_THROWS_EXCEPTION(prisma::Error, pathPatch(*m, pair, {{0, 0}}, PathReceivers{}, metric));
    QVERIFY_THROWS_EXCEPTION(prisma::Error, pathPatch(*m, pair, {{2, 0}}, layer1, metric));
  }

  // The last block computed at the CLS token only gives the model's own output, and is
  // used only where no hook in that block would be skipped.
  void pooledReadoutIsTheModelOutput() {
    torch::NoGradGuard no_grad;
    QVERIFY(canReadPooledOnly(*hf_.model));
    const torch::Tensor x = torch::cat({pair_.clean["blocks.2.hook_resid_pre"], pair_.corrupt["blocks.2.hook_resid_pre"]});
    RunOptions last;
    last.start_at_layer = 2;
    QVERIFY(relL2(pooledReadout(*hf_.model, x), hf_.model->forward(x, last)) < 1e-6);

    HookedViT attnOnly = randomAttentionOnlyModel();
    auto run = attnOnly->run_with_cache(pair_.clean_input.narrow(2, 0, 16).narrow(3, 0, 16));
    last.start_at_layer = 1;
    const torch::Tensor y = run.cache["blocks.1.hook_resid_pre"];
    QVERIFY(relL2(pooledReadout(*attnOnly, y), attnOnly->forward(y, last)) < 1e-6);
    {
      HookScope scope(*hf_.model);
      scope.add("blocks.2.mlp.hook_post", [](const torch::Tensor&, const HookPointImpl&) { return torch::Tensor(); });
      QVERIFY(!canReadPooledOnly(*hf_.model));
      QVERIFY_THROWS_EXCEPTION(prisma::Error, pooledReadout(*hf_.model, x));
    }
    QVERIFY(canReadPooledOnly(*hf_.model));
    ViTConfig mean = hf_.model->cfg();
    mean.pooling = Pooling::Mean;
    QVERIFY(!canReadPooledOnly(*HookedViT(mean)));

    PatchOptions full;
    full.pooled_readout = false;
    const PatchComponent comp = makeComponent(ComponentKind::HeadQ, cfg());
    QVERIFY(maxAbsDiff(activationPatch(*hf_.model, pair_, comp, metric_, full).values,
                       activationPatch(*hf_.model, pair_, comp, metric_).values) < 1e-5);
  }

  void metricsHaveTheirDefinitions() {
    const torch::Tensor logits = torch::tensor({{1.0f, 3.0f, -2.0f}, {0.5f, 0.0f, 4.0f}});
    QVERIFY(torch::allclose(metrics::logitDiff(1, 0)(logits), torch::tensor({2.0f, -0.5f})));
    QVERIFY(torch::allclose(metrics::prob(2)(logits), torch::softmax(logits, 1).select(1, 2)));
    QVERIFY(torch::allclose(metrics::crossEntropy(1)(logits),
                            torch::nn::functional::cross_entropy(
                                logits, torch::tensor({1, 1}),
                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))));
    const double clean = metricValue(metric_, pair_.clean_logits), corrupt = metricValue(metric_, pair_.corrupt_logits);
    const Metric norm = metrics::normalized(metric_, clean, corrupt);
    QVERIFY(std::abs(metricValue(norm, pair_.clean_logits) - 1.0) < 1e-6);
    QVERIFY(std::abs(metricValue(norm, pair_.corrupt_logits)) < 1e-6);
    QVERIFY_THROWS_EXCEPTION(prisma::Error, metrics::normalized(metric_, 1.0, 1.0));
    QVERIFY_THROWS_EXCEPTION(prisma::Error, metrics::prob(3)(logits));
  }

  void componentsNameTheirHooks() {
    QCOMPARE(componentNames().size(), size_t(11));
    QCOMPARE(makeComponent(ComponentKind::HeadZByPos, cfg()).shape, (std::vector<int64_t>{3, 17, 4}));
    QCOMPARE(makeComponent(ComponentKind::HeadPattern, cfg()).hook_name(2), std::string("blocks.2.attn.hook_pattern"));
    for (const auto& n : componentNames()) {
      const PatchComponent c = makeComponent(componentKindFromName(n), cfg());
      for (int l = 0; l < cfg().n_layers; ++l) QVERIFY2(hf_.model->has_hook(c.hook_name(l)), n.c_str());
    }
    QVERIFY_THROWS_EXCEPTION(prisma::Error, componentKindFromName("resid"));
    HookedViT attnOnly = randomAttentionOnlyModel();
    QVERIFY_THROWS_EXCEPTION(prisma::Error, makeComponent(ComponentKind::MlpOut, attnOnly->cfg()));
    QVERIFY_THROWS_EXCEPTION(prisma::Error, runPair(*hf_.model, torch::cat({clean_, corrupt_}), corrupt_));
    // What a model has is asked, not found by catching: every kind but the MLP's two.
    QVERIFY(availableComponents(cfg()) == allComponentKinds());
    const auto lean = availableComponents(attnOnly->cfg());
    QCOMPARE(lean.size(), allComponentKinds().size() - 2);
    for (ComponentKind k : lean) QVERIFY(k != ComponentKind::MlpOut && k != ComponentKind::ResidMid);
    for (ComponentKind k : lean) makeComponent(k, attnOnly->cfg());  // each one builds
  }

  // A MetricSpec names the same callable the metrics:: functions build, on the fixture pair.
  void metricSpecBuildsTheNamedMetric_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QVector<int>>("classes");
    QTest::addColumn<bool>("normalized");
    QTest::addColumn<QString>("key");
    QTest::newRow("logit_diff") << "logit_diff" << QVector<int>{kCleanClass, kCorruptClass} << false << "logit_diff(0,3)";
    QTest::newRow("normalised") << "logit_diff" << QVector<int>{kCleanClass, kCorruptClass} << true
                                << "normalized_logit_diff(0,3)";
    QTest::newRow("logit") << "logit" << QVector<int>{kCorruptClass} << false << "logit(3)";
    QTest::newRow("prob") << "prob" << QVector<int>{kCleanClass} << false << "prob(0)";
    QTest::newRow("cross_entropy") << "cross_entropy" << QVector<int>{kCleanClass} << false << "cross_entropy(0)";
  }

  void metricSpecBuildsTheNamedMetric() {
    QFETCH(QString, name);
    QFETCH(QVector<int>, classes);
    QFETCH(bool, normalized);
    QFETCH(QString, key);
    MetricSpec spec;
    spec.kind = metricKindFromName(name.toStdString());
    spec.classes = {classes.begin(), classes.end()};
    spec.normalized = normalized;
    spec.check(cfg().n_classes);
    QCOMPARE(QString::fromStdString(spec.key()), key);
    QCOMPARE(QString::fromStdString(toString(spec.kind)), name);
    const int a = classes[0];
    Metric expected = spec.kind == MetricKind::LogitDiff ? metrics::logitDiff(a, classes[1])
                      : spec.kind == MetricKind::Logit   ? metrics::logit(a)
                      : spec.kind == MetricKind::Prob    ? metrics::prob(a)
                                                         : metrics::crossEntropy(a);
    if (normalized)
      expected = metrics::normalized(expected, metricValue(expected, pair_.clean_logits),
                                     metricValue(expected, pair_.corrupt_logits));
    const Metric built = makeMetric(spec, pair_.clean_logits, pair_.corrupt_logits);
    const torch::Tensor both = torch::cat({pair_.clean_logits, pair_.corrupt_logits});  // [2, classes]
    QVERIFY(torch::allclose(built(both), expected(both)));
    if (normalized) {
      QVERIFY(std::abs(metricValue(built, pair_.clean_logits) - 1.0) < 1e-6);
      QVERIFY_THROWS_EXCEPTION(prisma::Error, makeMetric(spec));  // needs the pair
    } else {
      QVERIFY(torch::allclose(makeMetric(spec)(both), expected(both)));
    }
  }

  void metricSpecChecksItsClasses() {
    MetricSpec spec;  // logit_diff
    QCOMPARE(spec.withDefaultClasses(kCleanClass, kCorruptClass).classes, (std::vector<int>{kCleanClass, kCorruptClass}));
    spec.kind = MetricKind::Prob;
    QCOMPARE(spec.withDefaultClasses(kCleanClass, kCorruptClass).classes, std::vector<int>{kCleanClass});
    spec.classes = {2};
    QCOMPARE(spec.withDefaultClasses(kCleanClass, kCorruptClass).classes, std::vector<int>{2});  // given ones stay
    // The field an error names, "" when the spec is fine for `n` classes.
    auto fieldOf = [](const MetricSpec& s, int n) -> QString {
      try {
        s.check(n);
      } catch (const prisma::Error& e) {
        return QString::fromStdString(e.field());
      }
      return {};
    };
    QCOMPARE(fieldOf(spec, 5), QString());
    QCOMPARE(fieldOf(spec, 2), QStringLiteral("class A"));  // 2 is outside [0, 2)
    spec.kind = MetricKind::LogitDiff;
    QCOMPARE(fieldOf(spec, 5), QStringLiteral("classes"));  // logit_diff takes two
    spec.classes = {0, 7};
    QCOMPARE(fieldOf(spec, 5), QStringLiteral("class B"));
    QVERIFY_THROWS_EXCEPTION(prisma::Error, metricKindFromName("accuracy"));
    QVERIFY(metricNames() ==
            (std::vector<std::string>{"logit_diff", "logit", "prob", "cross_entropy", "cosine_to_clean"}));
    // cosine_to_clean takes no classes and needs the clean run's output.
    MetricSpec cosine;
    cosine.kind = MetricKind::CosineToClean;
    QVERIFY(cosine.withDefaultClasses(kCleanClass, kCorruptClass).classes.empty());
    QCOMPARE(fieldOf(cosine, 0), QString());
    QVERIFY_THROWS_EXCEPTION(prisma::Error, makeMetric(cosine));
    const Metric cos = makeMetric(cosine, pair_.clean_logits, pair_.corrupt_logits);
    const torch::Tensor expected = torch::cosine_similarity(pair_.corrupt_logits, pair_.clean_logits, 1);
    QVERIFY(std::abs(metricValue(cos, pair_.clean_logits) - 1.0) < 1e-6);
    QVERIFY(std::abs(metricValue(cos, pair_.corrupt_logits) - expected.item<double>()) < 1e-6);
    cosine.classes = {1};
    QCOMPARE(fieldOf(cosine, 5), QStringLiteral("classes"));
  }
};

QTEST_GUILESS_MAIN(TestInterpPatching)
#include "tst_interp_patching.moc"
