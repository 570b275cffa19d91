// `prisma train`'s options: --help lists every one, the option for each common field
// reaches the resolved preset, and `--set SECTION.FIELD=VALUE` reaches every field of the
// preset format. `--print-preset` prints the resolved preset without training, so these
// checks take one process start each. A field added to the preset format without a row in
// kNewValues fails setReachesEveryField, naming it.

#include "CliProcess.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <cmath>
#include <map>
#include <string>

namespace {

using prisma::test::CliResult;

CliResult runTrain(const QStringList& args) {
  prisma::test::CliOptions o;
  o.skip_blas_reexec = true;  // nothing here trains
  return prisma::test::runPrisma(args, o);
}

nlohmann::json printedPreset(const QStringList& args, QString* error = nullptr) {
  const CliResult r = runTrain(QStringList{"train", "--preset", "induction", "--print-preset"} + args);
  if (r.code != 0) {
    if (error) *error = r.err;
    return nullptr;
  }
  return nlohmann::json::parse(r.out.toStdString());
}

// Every leaf of a JSON document by dotted path (lists are leaves).
void leaves(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) leaves(*it, path, out);
    else out[path] = *it;
  }
}

// Equal, numbers to float precision (dataset.mean is stored as float).
bool close(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return std::abs(a.get<double>() - b.get<double>()) <= 1e-6 * std::abs(a.get<double>());
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!close(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

// A valid value for every field of the preset format (valid together: 3 channels with
// three means, mean pooling without a CLS token, ...), as --set text and as JSON.
const std::map<std::string, std::pair<std::string, nlohmann::json>> kNewValues = {
    {"format", {"prisma-train-preset", "prisma-train-preset"}},
    {"format_version", {"1", 1}},
    {"name", {"renamed", "renamed"}},
    {"description", {"a description with spaces", "a description with spaces"}},
    {"model.image_size", {"64", 64}},
    {"model.patch_size", {"16", 16}},
    {"model.n_channels", {"3", 3}},
    {"model.d_model", {"96", 96}},
    {"model.n_heads", {"3", 3}},
    {"model.d_head", {"24", 24}},
    {"model.d_mlp", {"200", 200}},
    {"model.n_layers", {"3", 3}},
    {"model.n_classes", {"5", 5}},
    {"model.attn_only", {"false", false}},
    {"model.normalization", {"LN", "LN"}},
    {"model.eps", {"1e-6", 1e-6}},
    {"model.legacy_post_ln", {"true", true}},
    {"model.mlp_hidden_norm", {"true", true}},
    {"model.ln_pre", {"true", true}},
    {"model.activation", {"gelu_new", "gelu_new"}},
    {"model.cls_token", {"false", false}},
    {"model.pooling", {"mean", "mean"}},
    {"model.final_ln_after_pool", {"true", true}},
    {"model.qkv_bias", {"true", true}},
    {"model.patch_bias", {"true", true}},
    {"model.use_attn_result", {"true", true}},
    {"model.return_type", {"logits", "logits"}},
    {"model.normalize_output", {"true", true}},
    {"model.class_names", {R"(["a","b","c","d","e"])", {"a", "b", "c", "d", "e"}}},
    {"model.init", {"trunc_normal(0.01)", "trunc_normal(0.01)"}},
    {"model.n_registers", {"2", 2}},
    {"model.pos_interpolation", {"bicubic_antialias", "bicubic_antialias"}},
    {"dataset.name", {"circle", "circle"}},
    {"dataset.seed", {"5", 5}},
    {"dataset.test_fraction", {"0.25", 0.25}},
    {"dataset.label_factor", {"scale", "scale"}},
    {"dataset.subsample", {"100", 100}},
    {"dataset.path", {"/tmp/nowhere", "/tmp/nowhere"}},
    {"dataset.mean", {"[0.1,0.2,0.3]", {0.1, 0.2, 0.3}}},
    {"dataset.std", {"[0.5,0.5,0.25]", {0.5, 0.5, 0.25}}},
    {"dataset.interpolation", {"nearest", "nearest"}},
    {"optimization.optimizer", {"adamw", "adamw"}},
    {"optimization.loss", {"cross_entropy", "cross_entropy"}},
    {"optimization.lr", {"0.002", 0.002}},
    {"optimization.batch_size", {"32", 32}},
    {"optimization.epochs", {"3", 3}},
    {"optimization.max_steps", {"70", 70}},
    {"optimization.weight_decay", {"0.5", 0.5}},
    {"optimization.betas", {"[0.8,0.99]", {0.8, 0.99}}},
    {"optimization.eps", {"1e-7", 1e-7}},
    {"optimization.max_grad_norm", {"2.5", 2.5}},
    {"optimization.schedule.type", {"warmup_cosine", "warmup_cosine"}},
    {"optimization.schedule.warmup_steps", {"5", 5}},
    {"optimization.schedule.step_size", {"100", 100}},
    {"optimization.schedule.gamma", {"0.5", 0.5}},
    {"optimization.schedule.min_lr", {"1e-5", 1e-5}},
    {"optimization.seed", {"3", 3}},
    {"optimization.data_seed", {"4", 4}},
    {"optimization.early_stopping.metric", {"train_acc", "train_acc"}},
    {"optimization.early_stopping.patience", {"2", 2}},
    {"optimization.early_stopping.min_delta", {"0.01", 0.01}},
    {"optimization.early_stopping.every", {"epoch", "epoch"}},
    {"logging.log_every", {"7", 7}},
    {"logging.eval_batches", {"3", 3}},
    {"logging.checkpoint_every", {"11", 11}},
    {"logging.log_spaced_checkpoints", {"false", false}},
    {"finetune.from", {"some/model", "some/model"}},
    {"finetune.new_head", {"5", 5}},
    {"finetune.freeze_backbone", {"true", true}},
};

}  // namespace

class TestTrainCli : public QObject {
  Q_OBJECT

private slots:
  void helpListsEveryOption() {
    const CliResult r = runTrain({"train", "--help"});
    QCOMPARE(r.code, 0);
    for (const char* option :
         {"--preset", "--out", "--resume", "--layers", "--d-model", "--heads", "--attn-only", "--no-attn-only", "--init",
          "--epochs", "--max-steps", "--lr", "--batch", "--weight-decay", "--seed", "--log-every", "--eval-batches",
          "--checkpoint-every", "--from", "--new-head", "--freeze-backbone", "--skip-nonfinite", "--set", "--print-preset", "--nproc",
          "--rank", "--world-size", "--master-addr", "--master-port", "--timeout-s", "--help", "--max-memory",
          "--max-image-pixels", "--accept-truncated-images"})
      QVERIFY2(r.out.contains(QString(option) + " ") || r.out.contains(QString(option) + "\n"), option);
    QVERIFY2(r.out.contains("vit_prisma_2023"), "the init schemes");
    QVERIFY2(r.out.contains("induction"), "the presets");
  }

  void optionsReachThePreset() {
    QString err;
    const nlohmann::json p = printedPreset({"--no-attn-only", "--weight-decay", "0.05", "--eval-batches", "5", "--init",
                                            "normal(0.05)", "--layers", "2"},
                                           &err);
    QVERIFY2(!p.is_null(), qPrintable(err));
    QCOMPARE(p["model"]["attn_only"].get<bool>(), false);
    QCOMPARE(p["model"]["n_layers"].get<int>(), 2);
    QCOMPARE(p["model"]["init"].get<std::string>(), std::string("normal(0.05)"));
    QCOMPARE(p["optimization"]["weight_decay"].get<double>(), 0.05);
    QCOMPARE(p["logging"]["eval_batches"].get<int>(), 5);
    const nlohmann::json attnOnly = printedPreset({"--attn-only"});
    QCOMPARE(attnOnly["model"]["attn_only"].get<bool>(), true);
    // The preset's own: the original recipe's initialisation and missing biases.
    const nlohmann::json plain = printedPreset({});
    QCOMPARE(plain["model"]["init"].get<std::string>(), std::string("vit_prisma_2023"));
    QCOMPARE(plain["model"]["qkv_bias"].get<bool>(), false);
  }

  void setReachesEveryField() {
    const nlohmann::json base = printedPreset({});
    QVERIFY(!base.is_null());
    std::map<std::string, nlohmann::json> fields;
    leaves(base, "", fields);
    QStringList args;
    for (const auto& [path, value] : fields) {
      auto it = kNewValues.find(path);
      QVERIFY2(it != kNewValues.end(), qPrintable(QString::fromStdString("no --set value for the preset field " + path +
                                                                         ": add one to kNewValues")));
      args << "--set" << QString::fromStdString(path + "=" + it->second.first);
    }
    QString err;
    const nlohmann::json set = printedPreset(args, &err);
    QVERIFY2(!set.is_null(), qPrintable(err));
    std::map<std::string, nlohmann::json> got;
    leaves(set, "", got);
    for (const auto& [path, value] : fields) {
      const nlohmann::json& want = kNewValues.at(path).second;
      const nlohmann::json& have = got[path];
      QVERIFY2(close(want, have), qPrintable(QString::fromStdString(path + ": got " + have.dump() + ", wanted " + want.dump())));
    }
  }

  void setTakesAStringBareOrQuoted() {
    const nlohmann::json bare = printedPreset({"--set", "optimization.schedule.type=constant"});
    QCOMPARE(bare["optimization"]["schedule"]["type"].get<std::string>(), std::string("constant"));
    const nlohmann::json quoted = printedPreset({"--set", "optimization.schedule.type=\"constant\""});
    QCOMPARE(quoted["optimization"]["schedule"]["type"].get<std::string>(), std::string("constant"));
  }

  void setErrorsNameTheField_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("needle");
    QTest::newRow("unknown field") << QStringList{"--set", "model.n_layer=2"} << "model.n_layer";
    QTest::newRow("unknown section") << QStringList{"--set", "modle.n_layers=2"} << "modle.n_layers";
    QTest::newRow("inside a value") << QStringList{"--set", "model.n_layers.x=2"} << "model.n_layers.x";
    QTest::newRow("not a whole number") << QStringList{"--set", "model.n_layers=two"} << "model.n_layers";
    QTest::newRow("not a boolean") << QStringList{"--set", "model.attn_only=yes"} << "model.attn_only";
    QTest::newRow("not a number") << QStringList{"--set", "optimization.lr=fast"} << "optimization.lr";
    QTest::newRow("not a list") << QStringList{"--set", "dataset.mean=0.5"} << "dataset.mean";
    QTest::newRow("refused value") << QStringList{"--set", "model.n_layers=0"} << "model.n_layers";
    QTest::newRow("refused enum") << QStringList{"--set", "model.normalization=RMS"} << "model.normalization";
    QTest::newRow("refused init") << QStringList{"--set", "model.init=xavier"} << "model.init";
    QTest::newRow("no equals sign") << QStringList{"--set", "model.n_layers"} << "SECTION.FIELD=VALUE";
    QTest::newRow("bad --init") << QStringList{"--init", "xavier"} << "--init";
    QTest::newRow("both attn options") << QStringList{"--attn-only", "--no-attn-only"} << "--no-attn-only";
  }
  void setErrorsNameTheField() {
    QFETCH(QStringList, args);
    QFETCH(QString, needle);
    const CliResult r = runTrain(QStringList{"train", "--preset", "induction", "--print-preset"} + args);
    QCOMPARE(r.code, 2);  // a usage error
    QVERIFY2(r.err.contains(needle), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestTrainCli)
#include "tst_train_cli.moc"
