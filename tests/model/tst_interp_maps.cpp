// Attention maps, head summaries, attention rollout, gradient relevancy, the logit lens
// and direct logit attribution (model/interp), against the rollout reference in
// ../shared/fixtures/hf_vit_classifier/patching_reference.safetensors and known facts.

#include "Tolerances.h"
#include "TestUtil.h"

#include "model/Error.h"
#include "model/interp/AttentionMaps.h"
#include "model/interp/AttentionRollout.h"
#include "model/interp/DirectLogitAttribution.h"
#include "model/interp/LogitLens.h"
#include "model/interp/Relevancy.h"
#include "model/io/ModelLoader.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace prisma;
using namespace prisma::interp;
using prisma::test::fixture;
using prisma::test::relL2;

namespace {
constexpr double kReferenceTolerance = prisma::test::kPatchTolerance;  // rollout / relevancy references
using prisma::test::kGoldenTolerance;
constexpr int kClassA = 0, kClassB = 3;  // the patching reference's labels
constexpr double kFiniteDifferenceStep = 1e-3;
}  // namespace

class TestInterpMaps : public QObject {
  Q_OBJECT

private:
  io::LoadedModel hf_;
  torch::Tensor pixels_;  // [2, 3, 32, 32]
  HookedViTImpl::CacheRun run_;

  const ViTConfig& cfg() const { return hf_.model->cfg(); }

private slots:
  void initTestCase() {
    hf_ = io::loadModel(fixture("hf_vit_classifier"));
    io::SafeTensorsFile inputs(fixture("hf_vit_classifier/reference.safetensors"));
    pixels_ = inputs.float_tensor("pixel_values");
    torch::NoGradGuard no_grad;
    run_ = hf_.model->run_with_cache(pixels_);
  }

  void rolloutMatchesReference() {
    io::SafeTensorsFile ref(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const torch::Tensor rollout = attentionRollout(run_.cache, cfg());
    const torch::Tensor expected = ref.float_tensor("rollout");
    QCOMPARE(rollout.sizes().vec(), expected.sizes().vec());
    const double err = relL2(rollout, expected);
    QVERIFY2(err < kReferenceTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
  }

  // Rows stay distributions (the keepdim bug breaks exactly this), for every fusion.
  void rolloutRowsSumToOne_data() {
    QTest::addColumn<int>("fusion");
    QTest::addColumn<double>("discard");
    QTest::newRow("mean") << int(HeadFusion::Mean) << 0.0;
    QTest::newRow("max") << int(HeadFusion::Max) << 0.0;
    QTest::newRow("min, discard 0.9") << int(HeadFusion::Min) << 0.9;
  }

  void rolloutRowsSumToOne() {
    QFETCH(int, fusion);
    QFETCH(double, discard);
    RolloutOptions o;
    o.fusion = static_cast<HeadFusion>(fusion);
    o.discard_ratio = discard;
    const torch::Tensor r = attentionRollout(run_.cache, cfg(), o);
    QVERIFY((r.sum(-1) - 1).abs().max().item<double>() < 1e-5);
    QVERIFY(r.min().item<double>() >= 0);
    QVERIFY_THROWS_EXCEPTION(prisma::Error, attentionRollout(run_.cache, cfg(), RolloutOptions{HeadFusion::Mean, 1.0}));
  }

  void rolloutOfSelfAttentionIsIdentity() {
    const torch::Tensor eye = torch::eye(5).expand({1, 2, 5, 5});
    QVERIFY(torch::allclose(attentionRollout({eye, eye, eye}), torch::eye(5).unsqueeze(0)));
  }

  // The generic rule on numbers worked by hand: two tokens, two heads in layer 0 (one of
  // them with negative gradients, clamped away), identity attention in layer 1.
  void relevancyRuleByHand() {
    const torch::Tensor A0 = torch::tensor({0.5f, 0.5f, 0.2f, 0.8f}).view({1, 1, 2, 2}).repeat({1, 2, 1, 1});
    const torch::Tensor G0 = torch::stack({torch::tensor({1.0f, -1.0f, 2.0f, 0.0f}).view({2, 2}),
                                           -torch::ones({2, 2})}).unsqueeze(0);
    const torch::Tensor A1 = torch::eye(2).expand({1, 2, 2, 2});
    const torch::Tensor G1 = torch::ones({1, 2, 2, 2});
    // Layer 0: mean_h clamp(G⊙A) = 0.5·[[0.5, 0], [0.4, 0]]; R = I + that = [[1.25, 0], [0.2, 1]].
    // Layer 1: mean_h clamp(G⊙A) = I; R = R + I·R = 2R.
    const torch::Tensor expected = torch::tensor({2.5f, 0.0f, 0.4f, 2.0f}).view({1, 2, 2});
    QVERIFY(torch::allclose(relevancyFromGradients({A0, A1}, {G0, G1}), expected));
  }

  // The gradients relevancy weights by are d logit[c] / d pattern: check one entry per
  // layer by a finite difference through a hook.
  void relevancyUsesTheClassGradient() {
    const torch::Tensor R = gradientRelevancy(*hf_.model, pixels_, kClassA);
    QCOMPARE(R.sizes().vec(), (std::vector<int64_t>{2, 17, 17}));
    QVERIFY((R - torch::eye(17)).min().item<double>() > -1e-6);  // only positive parts are added
    QCOMPARE(tokenMatrixMap(R, cfg()).sizes().vec(), (std::vector<int64_t>{2, 4, 4}));

    const torch::Tensor image = pixels_.slice(0, 0, 1);
    auto g = hf_.model->run_with_cache_and_grads(
        image, [](const torch::Tensor& l) { return l.select(1, kClassA).sum(); }, filters::regex({"hook_pattern$"}));
    torch::NoGradGuard no_grad;
    for (int l = 0; l < cfg().n_layers; ++l) {
      const std::string name = "blocks." + std::to_string(l) + ".attn.hook_pattern";
      auto logitWith = [&](double eps) {
        return hf_.model->run_with_hooks(image, {{name, [eps](const torch::Tensor& p, const HookPointImpl&) {
                                                    torch::Tensor q = p.clone();
                                                    q[0][1][0][3] += eps;
                                                    return q;
                                                  }}})[0][kClassA].item<double>();
      };
      const double fd = (logitWith(kFiniteDifferenceStep) - logitWith(-kFiniteDifferenceStep)) / (2 * kFiniteDifferenceStep);
      const double grad = g.grads[name][0][1][0][3].item<double>();
      QVERIFY2(std::abs(fd - grad) < 1e-2 * std::max(1.0, std::abs(grad)),
               qPrintable(QStringLiteral("layer %1: %2 vs %3").arg(l).arg(fd).arg(grad)));
    }
  }

  void queryMapIsThePatternRow() {
    const torch::Tensor pattern = run_.cache["blocks.1.attn.hook_pattern"];  // [2, 4, 17, 17]
    const torch::Tensor cls = queryMap(pattern, tokenIndex(Query{}, cfg()), cfg());
    QCOMPARE(cls.sizes().vec(), (std::vector<int64_t>{2, 4, 4, 4}));
    QVERIFY(torch::equal(cls[1][2].flatten(), pattern[1][2][0].slice(0, 1)));
    const int64_t token = tokenIndex(Query::patch(1, 2), cfg());
    QCOMPARE(token, int64_t(1 + 1 * 4 + 2));
    const torch::Tensor patch = queryMap(pattern, token, cfg());
    QCOMPARE(patch[0][3][2][1].item<float>(), pattern[0][3][token][1 + 2 * 4 + 1].item<float>());
    const torch::Tensor all = queryMapsAllLayers(run_.cache, 0, cfg());
    QCOMPARE(all.sizes().vec(), (std::vector<int64_t>{3, 4, 2, 4, 4}));
    QVERIFY(torch::equal(all[1].transpose(0, 1), cls));
  }

  // Register ViTs (timm *_reg*, DINOv2 with registers) hold [CLS, registers, patches]: a
  // patch query and the patch keys start after the registers, which are not on the image.
  void registersAreNotPatches() {
    ViTConfig c = cfg();
    c.n_registers = 4;
    const int64_t T = c.n_tokens(), first = 1 + c.n_registers, g = c.grid_size();
    QCOMPARE(T, int64_t(1 + 4 + g * g));
    // Each key's weight is its index, so a map's values say which keys it read.
    const torch::Tensor pattern = torch::arange(T, torch::kFloat).expand({1, 2, T, T}).contiguous();  // [batch, head, q, k]
    const int64_t token = tokenIndex(Query::patch(1, 2), c);
    QCOMPARE(token, first + 1 * g + 2);
    const torch::Tensor map = queryMap(pattern, token, c);  // [1, 2, g, g]
    QCOMPARE(map[0][1][0][0].item<float>(), float(first));
    QCOMPARE(map[0][0][g - 1][g - 1].item<float>(), float(T - 1));
  }

  void queryParsing_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<int>("token");
    QTest::newRow("cls") << "cls" << true << 0;
    QTest::newRow("3,1") << "3,1" << true << 14;
    QTest::newRow("0,0") << "0,0" << true << 1;
    QTest::newRow("outside") << "4,0" << false << 0;
    QTest::newRow("one number") << "3" << false << 0;
    QTest::newRow("trailing") << "1,2x" << false << 0;
    QTest::newRow("word") << "centre" << false << 0;
  }

  void queryParsing() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(int, token);
    if (valid) {
      QCOMPARE(tokenIndex(Query::parse(text.toStdString()), cfg()), int64_t(token));
    } else {
      QVERIFY_THROWS_EXCEPTION(prisma::Error, tokenIndex(Query::parse(text.toStdString()), cfg()));
    }
  }

  // Known patterns: attend-to-self has entropy 0 and distance 0; uniform has entropy
  // log(T) and the mean pairwise patch distance.
  void headSummariesOfKnownPatterns() {
    const int64_t T = cfg().n_tokens(), g = cfg().grid_size();
    const HeadSummaries self = summarizePattern(torch::eye(T).expand({1, 1, T, T}), cfg());
    QVERIFY(std::abs(self.entropy[0].item<double>()) < 1e-6);
    QVERIFY(std::abs(self.to_self[0].item<double>() - 1) < 1e-6);
    QVERIFY(std::abs(self.to_cls[0].item<double>() - 1.0 / T) < 1e-6);
    QVERIFY(std::abs(self.mean_distance[0].item<double>()) < 1e-6);

    const HeadSummaries uniform = summarizePattern(torch::full({1, 1, T, T}, 1.0 / T), cfg());
    double pairs = 0;
    for (int a = 0; a < g * g; ++a)
      for (int b = 0; b < g * g; ++b) pairs += std::hypot(a / g - b / g, a % g - b % g);
    QVERIFY(std::abs(uniform.entropy[0].item<double>() - std::log(double(T))) < 1e-5);
    QVERIFY(std::abs(uniform.to_cls[0].item<double>() - 1.0 / T) < 1e-6);
    QVERIFY(std::abs(uniform.mean_distance[0].item<double>() - pairs / (g * g * g * g)) < 1e-5);

    const HeadSummaries model = summarizeHeads(run_.cache, cfg());
    QCOMPARE(model.entropy.sizes().vec(), (std::vector<int64_t>{3, 4}));
    QVERIFY(model.entropy.min().item<double>() >= 0);
    QVERIFY(model.entropy.max().item<double>() <= std::log(double(T)) + 1e-6);
  }

  // At the last layer the CLS token's lens logits are the model's logits.
  void logitLensEndsAtTheModelOutput() {
    const LogitLensResult lens = logitLens(*hf_.model, run_.cache);
    QCOMPARE(lens.logits.sizes().vec(), (std::vector<int64_t>{4, 2, 17, 10}));
    QCOMPARE(lens.labels.front(), std::string("0_pre"));
    QCOMPARE(lens.labels.back(), std::string("final_post"));
    QVERIFY(relL2(lens.logits[3].select(1, 0), run_.output) < kGoldenTolerance);
    QVERIFY(torch::equal(lens.top_class[3].select(1, 0), run_.output.argmax(1)));
    QVERIFY(torch::allclose(lens.top_logit, std::get<0>(lens.logits.max(-1))));
  }

  void directLogitAttributionSumsToTheLogitDifference() {
    const auto dla = directLogitAttribution(run_.cache, *hf_.model, kClassA, kClassB);
    const torch::Tensor diff = run_.output.select(1, kClassA) - run_.output.select(1, kClassB);
    QVERIFY(torch::allclose(dla.logit_diff, diff, 1e-5, 1e-5));
    QVERIFY2(torch::allclose(dla.components.sum(1) + dla.constant, diff, 1e-4, 1e-4),
             qPrintable(QStringLiteral("%1 vs %2").arg((dla.components.sum(1) + dla.constant)[0].item<double>())
                            .arg(diff[0].item<double>())));
    QCOMPARE(dla.heads.sizes().vec(), (std::vector<int64_t>{2, 3, 4}));
    for (int l = 0; l < 3; ++l) {
      const auto it = std::find(dla.labels.begin(), dla.labels.end(), std::to_string(l) + "_attn_out");
      QVERIFY(it != dla.labels.end());
      const torch::Tensor layer = dla.components.select(1, it - dla.labels.begin());
      QVERIFY(torch::allclose(dla.heads.select(1, l).sum(-1) + dla.attn_bias.select(1, l), layer, 1e-4, 1e-5));
    }
    // Without class b: logit a itself.
    const auto single = directLogitAttribution(run_.cache, *hf_.model, kClassA);
    QVERIFY(torch::allclose(single.components.sum(1) + single.constant, run_.output.select(1, kClassA), 1e-4, 1e-4));
  }

  void directLogitAttributionRefusesPostLn() {
    ViTConfig c = cfg();
    c.legacy_post_ln = true;
    HookedViT postLn(c);
    torch::NoGradGuard no_grad;
    auto run = postLn->run_with_cache(pixels_);
    QVERIFY_THROWS_EXCEPTION(prisma::Error, directLogitAttribution(run.cache, *postLn, 0, 1));
  }
};

QTEST_GUILESS_MAIN(TestInterpMaps)
#include "tst_interp_maps.moc"
