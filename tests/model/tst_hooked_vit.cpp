// HookedViT against Hugging Face's own outputs (../shared/fixtures/hf_vit_classifier),
// and the properties hooks, caches and weight processing must keep.

#include "Tolerances.h"
#include "TestUtil.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"
#include "model/vit/HookedViT.h"
#include "model/vit/WeightProcessing.h"

#include <QtTest>

#include <set>

using namespace prisma;
using prisma::test::fixture;
using prisma::test::relL2;

namespace {
using prisma::test::kGoldenTolerance;
using prisma::test::kPatchTolerance;
constexpr int kCleanClass = 0;              // patching_reference labels = [0, 3]
constexpr int kCorruptClass = 3;
}  // namespace

class TestHookedViT : public QObject {
  Q_OBJECT

private:
  io::LoadedModel hf_;
  std::unique_ptr<io::SafeTensorsFile> ref_;
  torch::Tensor pixels_;  // [2, 3, 32, 32]

  ViTConfig smallConfig(bool attn_only) {
    ViTConfig c;
    c.image_size = 16; c.patch_size = 4; c.n_channels = 3; c.d_model = 32; c.n_heads = 4;
    c.d_head = 8; c.d_mlp = 64; c.n_layers = 2; c.n_classes = 5; c.attn_only = attn_only;
    return c;
  }

private slots:
  void initTestCase() {
    torch::manual_seed(0);
    hf_ = io::loadModel(fixture("hf_vit_classifier"));
    ref_ = std::make_unique<io::SafeTensorsFile>(fixture("hf_vit_classifier/reference.safetensors"));
    pixels_ = ref_->float_tensor("pixel_values");
    QCOMPARE(hf_.format, std::string("hf-vit-classifier"));
  }

  void goldenAgainstHuggingFace_data() {
    QTest::addColumn<QString>("reference");
    QTest::addColumn<QString>("hook");
    QTest::addColumn<bool>("flattenHeads");  // [B, T, H, dh] -> [B, T, H·dh]
    for (int l = 0; l < 3; ++l) {
      const QString b = QStringLiteral("blocks.%1.").arg(l);
      QTest::newRow(qPrintable(QStringLiteral("hidden_states.%1").arg(l)))
          << QStringLiteral("hidden_states.%1").arg(l) << b + "hook_resid_pre" << false;
      QTest::newRow(qPrintable(QStringLiteral("attentions.%1").arg(l)))
          << QStringLiteral("attentions.%1").arg(l) << b + "attn.hook_pattern" << false;
      for (const char* x : {"q", "k", "v"})
        QTest::newRow(qPrintable(b + x + "_flat")) << b + x + "_flat" << b + "attn.hook_" + x << true;
      QTest::newRow(qPrintable(b + "attn_out")) << b + "attn_out" << b + "hook_attn_out" << false;
      QTest::newRow(qPrintable(b + "mlp_pre")) << b + "mlp_pre" << b + "mlp.hook_pre" << false;
      QTest::newRow(qPrintable(b + "mlp_post")) << b + "mlp_post" << b + "mlp.hook_post" << false;
      QTest::newRow(qPrintable(b + "mlp_out")) << b + "mlp_out" << b + "hook_mlp_out" << false;
    }
    QTest::newRow("hidden_states.3") << "hidden_states.3" << "blocks.2.hook_resid_post" << false;
    QTest::newRow("logits") << "logits" << "output" << false;
  }

  void goldenAgainstHuggingFace() {
    QFETCH(QString, reference);
    QFETCH(QString, hook);
    QFETCH(bool, flattenHeads);
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    torch::Tensor ours = hook == "output" ? run.output : run.cache[hook.toStdString()];
    if (flattenHeads) ours = ours.flatten(2);
    const torch::Tensor expected = ref_->float_tensor(reference.toStdString());
    QVERIFY2(ours.sizes().equals(expected.sizes()),
             qPrintable(test::shapeOf(ours) + " vs " + test::shapeOf(expected)));
    const double err = relL2(ours, expected);
    QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  void identityHookLeavesLogitsBitIdentical() {
    torch::NoGradGuard no_grad;
    const torch::Tensor plain = hf_.model->forward(pixels_);
    std::vector<Hook> hooks;
    for (const auto& name : hf_.model->hook_names())
      hooks.push_back({name, [](const torch::Tensor& x, const HookPointImpl&) { return x; }});
    const torch::Tensor hooked = hf_.model->run_with_hooks(pixels_, hooks);
    QVERIFY(torch::equal(plain, hooked));
  }

  void patchingOwnActivationsReproducesLogits() {
    torch::NoGradGuard no_grad;
    auto clean = hf_.model->run_with_cache(pixels_);
    // Replace every activation with the cached one, one hook point per run and all at once.
    std::vector<Hook> all;
    for (const auto& name : hf_.model->hook_names()) {
      const torch::Tensor value = clean.cache[name];
      Hook h{name, [value](const torch::Tensor&, const HookPointImpl&) { return value; }};
      all.push_back(h);
      const torch::Tensor one = hf_.model->run_with_hooks(pixels_, {h});
      QVERIFY2(torch::allclose(one, clean.output, 0, 0), name.c_str());
    }
    QVERIFY(torch::equal(hf_.model->run_with_hooks(pixels_, all), clean.output));
  }

  void hooksAreRemovedWhenTheRunThrows() {
    torch::NoGradGuard no_grad;
    const torch::Tensor plain = hf_.model->forward(pixels_);
    bool threw = false;
    try {
      hf_.model->run_with_hooks(pixels_, {{"blocks.1.hook_resid_pre",
                                           [](const torch::Tensor&, const HookPointImpl&) -> torch::Tensor {
                                             throw std::runtime_error("hook failed");
                                           }}});
    } catch (const std::runtime_error&) {
      threw = true;
    }
    QVERIFY(threw);
    QVERIFY(hf_.model->hook_point("blocks.1.hook_resid_pre")->empty());
    QVERIFY(torch::equal(hf_.model->forward(pixels_), plain));
  }

  void permanentHooksStayUntilReset() {
    torch::NoGradGuard no_grad;
    const torch::Tensor plain = hf_.model->forward(pixels_);
    hf_.model->hook_point("blocks.0.hook_attn_out")->add(
        [](const torch::Tensor& x, const HookPointImpl&) { return torch::zeros_like(x); });
    QVERIFY(!torch::allclose(hf_.model->forward(pixels_), plain));
    QVERIFY(!torch::allclose(hf_.model->forward(pixels_), plain));
    hf_.model->reset_hooks();
    QVERIFY(torch::equal(hf_.model->forward(pixels_), plain));
  }

  void cacheKeysEqualHookNames() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    const auto keys = run.cache.keys();
    const std::set<std::string> cached(keys.begin(), keys.end());
    const auto& names = hf_.model->hook_names();
    QCOMPARE(cached, std::set<std::string>(names.begin(), names.end()));
    // The ViT-Prisma names a Python cache would have, spot-checked.
    for (const char* n : {"hook_embed", "hook_pos_embed", "hook_full_embed", "blocks.0.ln1.hook_scale",
                          "blocks.2.attn.hook_attn_scores", "blocks.1.hook_resid_mid", "ln_final.hook_normalized",
                          "hook_ln_final", "hook_post_head_pre_normalize"})
      QVERIFY2(cached.count(n), n);
    QCOMPARE(run.cache["blocks.0.attn.hook_q"].sizes().vec(), (std::vector<int64_t>{2, 17, 4, 16}));
    QCOMPARE(run.cache["blocks.0.attn.hook_pattern"].sizes().vec(), (std::vector<int64_t>{2, 4, 17, 17}));
  }

  void cacheFilterByRegex() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_, filters::regex({"hook_pattern$", "^blocks\\.1\\.hook_resid_pre$"}));
    QCOMPARE(run.cache.size(), size_t(4));
    QVERIFY(run.cache.contains("blocks.1.hook_resid_pre"));
    QVERIFY(run.cache.contains("blocks.2.attn.hook_pattern"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, filters::regex({"("}));
  }

  void attentionOnlyModelsHaveNoMlpHooks() {
    HookedViT model(smallConfig(/*attn_only=*/true));
    for (const auto& name : model->hook_names()) {
      QVERIFY2(name.find("mlp") == std::string::npos, name.c_str());
      QVERIFY2(name.find("resid_mid") == std::string::npos, name.c_str());
      QVERIFY2(name.find("ln2") == std::string::npos, name.c_str());
    }
    QVERIFY(model->has_hook("blocks.1.hook_resid_post"));
    QVERIFY(HookedViT(smallConfig(false))->has_hook("blocks.1.mlp.hook_post"));
  }

  void patternRowsSumToOne() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_, filters::regex({"hook_pattern"}));
    for (const auto& [name, pattern] : run.cache.tensors()) {
      const double maxDev = (pattern.sum(-1) - 1).abs().max().item<double>();
      QVERIFY2(maxDev < 1e-6, name.c_str());
    }
  }

  void weightProcessingKeepsLogits_data() {
    QTest::addColumn<bool>("foldLn");
    QTest::addColumn<bool>("center");
    QTest::addColumn<bool>("foldValueBiases");
    QTest::newRow("fold LN") << true << false << false;
    QTest::newRow("centre writing weights") << false << true << false;
    QTest::newRow("fold value biases") << false << false << true;
    QTest::newRow("all three") << true << true << true;
  }

  void weightProcessingKeepsLogits() {
    QFETCH(bool, foldLn);
    QFETCH(bool, center);
    QFETCH(bool, foldValueBiases);
    torch::NoGradGuard no_grad;
    HookedViT processed = processWeights(hf_.model, {foldLn, center, foldValueBiases});
    QVERIFY(processed->cfg().normalization == (foldLn ? Normalization::LNPre : Normalization::LN));
    const torch::Tensor expected = hf_.model->forward(pixels_);
    const double err = relL2(processed->forward(pixels_), expected);
    QVERIFY2(err <= kGoldenTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    // The rewrite must have changed the weights, or the test proves nothing.
    if (foldValueBiases) QCOMPARE(processed->block(0).attn->b_V.abs().max().item<double>(), 0.0);
    if (foldLn) QVERIFY(!processed->block(0).ln1->has_weights());
    if (center) QVERIFY(processed->block(1).attn->W_O.mean(-1).abs().max().item<double>() < 1e-6);
  }

  void weightProcessingRefusesWhatItWouldBreak() {
    ViTConfig noLn = smallConfig(false);
    noLn.normalization = Normalization::None;
    QVERIFY_THROWS_EXCEPTION(prisma::Error, processWeights(HookedViT(noLn), {false, true, false}));
    ViTConfig postLn = smallConfig(false);
    postLn.legacy_post_ln = true;
    QVERIFY_THROWS_EXCEPTION(prisma::Error, processWeights(HookedViT(postLn), {true, false, false}));
  }

  void startAndStopAtLayer() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    for (int l = 0; l < 3; ++l) {
      const std::string pre = "blocks." + std::to_string(l) + ".hook_resid_pre";
      RunOptions from;
      from.start_at_layer = l;
      QVERIFY(torch::allclose(hf_.model->forward(run.cache[pre], from), run.output, 1e-5, 1e-6));
      RunOptions until;
      until.stop_at_layer = l;
      QVERIFY(torch::allclose(hf_.model->forward(pixels_, until), run.cache[pre], 1e-5, 1e-6));
    }
    RunOptions bad;
    bad.start_at_layer = 1;
    QVERIFY_THROWS_EXCEPTION(prisma::Error, hf_.model->forward(pixels_, bad));  // pixels, not a residual
  }

  // Hugging Face's logits through plain PyTorch hooks: patch one position of resid_pre of
  // the corrupted run with the clean value, re-run from that layer (start_at_layer).
  void residPatchingMatchesReference() {
    torch::NoGradGuard no_grad;
    io::SafeTensorsFile patchRef(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const torch::Tensor clean = pixels_.slice(0, 0, 1), corrupt = pixels_.slice(0, 1, 2);
    auto c = hf_.model->run_with_cache(clean), k = hf_.model->run_with_cache(corrupt);
    auto metric = [](const torch::Tensor& logits) {
      return logits.select(1, kCleanClass) - logits.select(1, kCorruptClass);  // [batch]
    };
    QVERIFY(relL2(metric(c.output), patchRef.float_tensor("clean_metric")) < kPatchTolerance);
    const int T = hf_.model->cfg().n_tokens();
    torch::Tensor grid = torch::zeros({3, T});
    for (int l = 0; l < 3; ++l) {
      const std::string name = "blocks." + std::to_string(l) + ".hook_resid_pre";
      // All positions in one batch: row p has position p patched.
      torch::Tensor batch = k.cache[name].repeat({T, 1, 1});                 // [T, T, D]
      torch::Tensor idx = torch::arange(T);
      batch.index_put_({idx, idx}, c.cache[name][0].index_select(0, idx));
      RunOptions from;
      from.start_at_layer = l;
      grid[l] = metric(hf_.model->forward(batch, from));
    }
    const double err = relL2(grid, patchRef.float_tensor("resid_pre_patch"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // Gradients through backward hooks: attribution patching of resid_pre, against the
  // reference computed with PyTorch autograd on the Hugging Face model.
  void gradientCacheMatchesAttributionReference() {
    io::SafeTensorsFile patchRef(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const torch::Tensor clean = pixels_.slice(0, 0, 1), corrupt = pixels_.slice(0, 1, 2);
    torch::Tensor cleanResid;
    auto filter = filters::regex({"hook_resid_pre$", "^hook_ln_final$"});
    auto c = hf_.model->run_with_cache(clean, filter);
    auto g = hf_.model->run_with_cache_and_grads(
        corrupt, [](const torch::Tensor& logits) { return logits[0][kCleanClass] - logits[0][kCorruptClass]; },
        filter);
    torch::Tensor attribution = torch::zeros({3, hf_.model->cfg().n_tokens()});
    for (int l = 0; l < 3; ++l) {
      const std::string name = "blocks." + std::to_string(l) + ".hook_resid_pre";
      attribution[l] = ((c.cache[name] - g.cache[name]) * g.grads[name]).sum(-1)[0];
    }
    const double err = relL2(attribution, patchRef.float_tensor("resid_pre_attribution"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    // Known fact: d(logit a - logit b) / d(pooled final LN output) = W_H[:, a] - W_H[:, b].
    const torch::Tensor W = hf_.model->head->W_H.detach();
    const torch::Tensor expected = W.select(1, kCleanClass) - W.select(1, kCorruptClass);
    QVERIFY(torch::allclose(g.grads["hook_ln_final"][0][0], expected, 1e-5, 1e-6));
    // Parameters were not touched.
    for (const auto& p : hf_.model->parameters()) QVERIFY(!p.grad().defined());
  }

  void directLogitAttributionSumsToLogitDifference() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    auto parts = run.cache.decompose_resid();
    QCOMPARE(int(parts.labels.size()), 2 + 2 * 3);
    QVERIFY(torch::allclose(parts.tensor.sum(0), run.cache["blocks.2.hook_resid_post"], 1e-4, 1e-5));
    const torch::Tensor attrs = run.cache.logit_attrs(parts.tensor, kCleanClass, kCorruptClass);  // [C, B]
    const torch::Tensor total = attrs.sum(0) + run.cache.logit_attr_constant(kCleanClass, kCorruptClass);
    const torch::Tensor diff = run.output.select(1, kCleanClass) - run.output.select(1, kCorruptClass);
    QVERIFY2(torch::allclose(total, diff, 1e-4, 1e-4), qPrintable(QStringLiteral("%1 vs %2")
        .arg(total[0].item<double>()).arg(diff[0].item<double>())));
  }

  void headResultsSumToAttentionOutput() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    auto heads = run.cache.stack_head_results(2);  // layers 0 and 1
    QCOMPARE(heads.tensor.size(0), int64_t(8));
    QCOMPARE(heads.labels[5], std::string("L1H1"));
    const torch::Tensor layer1 = heads.tensor.slice(0, 4, 8).sum(0) + hf_.model->block(1).attn->b_O.detach();
    QVERIFY(torch::allclose(layer1, run.cache["blocks.1.hook_attn_out"], 1e-4, 1e-5));
  }

  void attnResultHookMatchesFusedPath() {
    ViTConfig cfg = hf_.model->cfg();
    cfg.use_attn_result = true;
    HookedViT withResult(cfg);
    torch::NoGradGuard no_grad;
    prisma::StateDict sd;
    for (const auto& item : hf_.model->named_parameters()) sd[item.key()] = item.value();
    for (auto& item : withResult->named_parameters()) item.value().copy_(sd.at(item.key()));
    auto run = withResult->run_with_cache(pixels_, filters::regex({"hook_result"}));
    QCOMPARE(run.cache["blocks.0.attn.hook_result"].sizes().vec(), (std::vector<int64_t>{2, 17, 4, 64}));
    QVERIFY(relL2(run.output, hf_.model->forward(pixels_)) < kGoldenTolerance);
  }

  void logitLensAtTheLastLayerIsTheModelOutput() {
    torch::NoGradGuard no_grad;
    auto run = hf_.model->run_with_cache(pixels_);
    auto acc = run.cache.accumulated_resid(-1, false, /*apply_ln=*/true);
    QCOMPARE(acc.labels.back(), std::string("final_post"));
    QCOMPARE(int(acc.labels.size()), 4);
    const torch::Tensor finalNormed = run.cache.pool_stack(acc.tensor).select(0, 3);  // [B, D]
    const torch::Tensor logits = finalNormed.matmul(hf_.model->head->W_H) + hf_.model->head->b_H +
                                 hf_.model->ln_final->b.matmul(hf_.model->head->W_H);
    QVERIFY(relL2(logits, run.output) < kGoldenTolerance);
  }

  void wrongShapedInputIsAClearError() {
    torch::NoGradGuard no_grad;
    try {
      hf_.model->forward(torch::zeros({1, 1, 32, 32}));
      QFAIL("no error");
    } catch (const prisma::Error& e) {
      QVERIFY2(std::string(e.what()).find("[batch, 3, 32, 32]") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestHookedViT)
#include "tst_hooked_vit.moc"
