// Data parallelism on c10d + Gloo (model/distributed, `prisma train --nproc`, `prisma
// patch-dataset`), run as a user runs it: `prisma` processes rendezvousing on 127.0.0.1
// at free ports. What must hold: two processes at per-rank batch B train the same weights
// as one process at 2B (float rounding apart), also across a resume that changes the
// world size; a dataset-wide patching sweep is bit-identical on one or two processes and
// agrees with the patching reference; a killed rank makes the other exit with an error
// within the timeout instead of hanging; `prisma sae train --nproc 2` trains the SAE one
// process does.

#include "Tolerances.h"
#include "TestUtil.h"

#include "model/distributed/GlooCollective.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using prisma::test::fixture;
using prisma::test::relL2;

namespace {

constexpr int kProcessTimeoutMs = 180'000;
// AdamW divides by the root of the second moment, so rounding differences in tiny
// gradients move weights by more than float epsilon: the bound is a small fraction of
// one update (lr ramps up to 2.5e-4 over these steps; measured differences ~4e-9).
using prisma::test::kWeightTolerance;
using prisma::test::kPatchTolerance;
constexpr int kFailTimeoutS = 5;
constexpr int kFailSlackMs = 15'000;      // the error path, process exit, a loaded machine
constexpr int kEndlessSteps = 100000;     // far beyond the test's life

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Result {
  int code = -1;
  QString out, err;
};

// One thread per process: with two processes on two shared cores, more only adds noise,
// and the patching comparison needs the same thread count on both sides.
QProcessEnvironment workerEnvironment(const QStringList& extra = {}) {
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("OMP_NUM_THREADS", "1");
  env.insert("OPENBLAS_NUM_THREADS", "1");
  for (const char* var : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
    env.remove(var);
  for (const QString& kv : extra) env.insert(kv.section('=', 0, 0), kv.section('=', 1));
  return env;
}

// `prisma ARGS` as rank `rank` of two, meeting on 127.0.0.1:port.
bool startRank(QProcess& p, int rank, int port, const QStringList& args) {
  p.setProcessEnvironment(workerEnvironment({"RANK=" + QString::number(rank), "WORLD_SIZE=2",
                                             "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + QString::number(port)}));
  p.start(QStringLiteral(PRISMA_CLI_PATH), args);
  return p.waitForStarted();
}

// Reads `p`'s stderr until it reports a training step (both ranks joined and updating),
// it exits, or the process timeout passes; returns what it read.
QString waitForFirstStep(QProcess& p) {
  QString err;
  QElapsedTimer wait;
  wait.start();
  while (!err.contains("step ") && wait.elapsed() < kProcessTimeoutMs && p.state() == QProcess::Running) {
    p.waitForReadyRead(200);
    err += QString::fromUtf8(p.readAllStandardError());
  }
  return err;
}

Result runPrisma(const QStringList& args) {
  QProcess p;
  p.setProcessEnvironment(workerEnvironment());
  p.start(QStringLiteral(PRISMA_CLI_PATH), args);
  if (!p.waitForFinished(kProcessTimeoutMs)) {
    p.kill();
    p.waitForFinished();
    return {-1, {}, "timed out: " + args.join(' ')};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

std::map<std::string, torch::Tensor> tensorsOf(const QString& path) {
  prisma::io::SafeTensorsFile f(path.toStdString());
  std::map<std::string, torch::Tensor> out;
  for (const auto& name : f.names()) out[name] = f.tensor(name).clone();
  return out;
}

std::map<std::string, torch::Tensor> weights(const QString& runDir) { return tensorsOf(runDir + "/model.safetensors"); }

double maxAbsDiff(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    if (it == b.end() || !t.sizes().equals(it->second.sizes())) return std::numeric_limits<double>::infinity();
    m = std::max(m, (t.to(torch::kFloat64) - it->second.to(torch::kFloat64)).abs().max().item<double>());
  }
  return m;
}

QString readText(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

}  // namespace

class TestDistributed : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  // A small induction mouse: per-rank batch 8 on two ranks = global batch 16.
  QStringList trainArgs(const QString& out, int steps) const {
    return {"train", "--preset", "induction", "--d-model", "32", "--heads", "2", "--batch", "16", "--seed", "3",
            "--max-steps", QString::number(steps), "--log-every", "0", "--checkpoint-every", "0", "--out", out};
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void bucketsBoundTheirBytes() {
    using prisma::distributed::bucketRanges;
    const std::vector<torch::Tensor> ts{torch::zeros({10}), torch::zeros({10}), torch::zeros({30}), torch::zeros({5})};
    // 40-byte tensors, a 120-byte one, a 20-byte one; buckets of at most 100 bytes.
    const auto b = bucketRanges(ts, 100);
    QCOMPARE(b.size(), size_t(3));
    QCOMPARE(b[0], (std::pair<size_t, size_t>{0, 2}));
    QCOMPARE(b[1], (std::pair<size_t, size_t>{2, 3}));  // larger than a bucket: alone
    QCOMPARE(b[2], (std::pair<size_t, size_t>{3, 4}));
    QCOMPARE(bucketRanges(ts, int64_t(1) << 20).size(), size_t(1));
  }

  // 2 processes x batch 8 against 1 process x batch 16, same seed and sample order; then
  // each run resumed under the other world size; all against 6 steps in one process.
  void twoProcessesTrainLikeOne() {
    const QString one = tmp_.filePath("one"), two = tmp_.filePath("two"), ref = tmp_.filePath("ref");
    Result r = runPrisma(trainArgs(one, 4));
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runPrisma(trainArgs(two, 4) + QStringList{"--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("run:"), qPrintable(r.out));  // rank 0 alone prints the summary
    QCOMPARE(r.out.count("run:"), 1);

    const double afterFour = maxAbsDiff(weights(one), weights(two));
    qInfo("max |w_2proc - w_1proc| after 4 updates: %.3g", afterFour);
    QVERIFY2(afterFour < kWeightTolerance, qPrintable(QString::number(afterFour)));
    QVERIFY(readText(two + "/README.md").contains("- Processes: 2"));
    QVERIFY(readText(one + "/README.md").contains("- Processes: 1"));

    // Resume with a different world size: the data order and schedule do not depend on it.
    r = runPrisma({"train", "--resume", one, "--max-steps", "6", "--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runPrisma({"train", "--resume", two, "--max-steps", "6"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runPrisma(trainArgs(ref, 6));
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto w = weights(ref);
    const double a = maxAbsDiff(weights(one), w), b = maxAbsDiff(weights(two), w);
    qInfo("max |w - w_ref| after 6 updates: 1 proc + resume on 2: %.3g; 2 procs + resume on 1: %.3g", a, b);
    QVERIFY2(a < kWeightTolerance, qPrintable(QString::number(a)));
    QVERIFY2(b < kWeightTolerance, qPrintable(QString::number(b)));
    // The weights did move: the comparison is not between untouched initialisations.
    prisma::io::SafeTensorsFile init((one + "/checkpoints/step_00000001-samples_16/model.safetensors").toStdString());
    QVERIFY(maxAbsDiff(weights(ref), [&] {
              std::map<std::string, torch::Tensor> m;
              for (const auto& n : init.names()) m[n] = init.tensor(n).clone();
              return m;
            }()) > 100 * kWeightTolerance);
  }

  void saeTwoProcessesTrainLikeOne_data() {
    QTest::addColumn<QStringList>("options");
    // Batch 9 splits 4 + 5 images (68 + 85 rows): the slices' weights differ; dead
    // features resampled every 2 updates need the firing summed over ranks.
    QTest::newRow("relu, uneven slices, resampling")
        << QStringList{"--batch", "9", "--l1", "1e-3", "--resample-every", "2", "--dead-window", "1"};
    QTest::newRow("topk") << QStringList{"--batch", "8", "--activation", "topk", "--k", "8"};
  }

  // `prisma sae train --nproc 2` against one process at the same global batch: every
  // rank draws the same rows from an identical buffer and trains its share of them. At lr
  // 1e-3 the difference was 7.6e-7 (relu row), so the lr of the classifier test is used.
  void saeTwoProcessesTrainLikeOne() {
    QFETCH(QStringList, options);
    const QString tag = QString::fromUtf8(QTest::currentDataTag()).left(4);
    const QString one = tmp_.filePath("sae-one-" + tag), two = tmp_.filePath("sae-two-" + tag);
    const QStringList common = QStringList{"sae", "train", "--model", "mouse:induction-2L", "--dataset", "induction",
                                           "--hook", "blocks.1.hook_resid_pre", "--expansion", "1", "--lr", "2.5e-4",
                                           "--warmup", "0", "--max-steps", "5", "--log-every", "0",
                                           "--eval-batches", "0", "--seed", "3"} + options;
    Result r = runPrisma(common + QStringList{"--out", one});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runPrisma(common + QStringList{"--out", two, "--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(r.out.count("prisma sae train:"), 1);  // rank 0 alone reports
    const auto a = tensorsOf(one + "/sae.safetensors"), b = tensorsOf(two + "/sae.safetensors");
    QCOMPARE(a.size(), size_t(4));
    const double diff = maxAbsDiff(a, b);
    qInfo("max |sae_2proc - sae_1proc| after 5 updates: %.3g", diff);
    QVERIFY2(diff < kWeightTolerance, qPrintable(QString::number(diff)));
    // The SAE did move from its initialisation (b_enc starts at zero).
    QVERIFY(a.at("b_enc").abs().max().item<double>() > 100 * kWeightTolerance);
  }

  // An epoch's last batch of 5872 % 3 = 1 image would leave a rank idle in the row gather.
  void saeBatchThatStarvesARankIsRefused() {
    const Result r = runPrisma({"sae", "train", "--model", "mouse:induction-2L", "--dataset", "induction", "--hook",
                                "blocks.1.hook_resid_pre", "--expansion", "1", "--batch", "3", "--max-steps", "1",
                                "--out", tmp_.filePath("sae-starved"), "--nproc", "2"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("leaves some of the 2 processes without images"), qPrintable(r.err.right(600)));
  }

  // Five pairs (two processes get 3 and 2): bit-identical to one process, and the pair of
  // the patching fixture agrees with its reference grid.
  void patchDatasetTwoProcessesExact() {
    const QString model = QString::fromStdString(fixture("hf_vit_classifier"));
    const QString ref = QString::fromStdString(fixture("hf_vit_classifier/reference.safetensors"));
    const QString extra = tmp_.filePath("extra.safetensors");
    torch::manual_seed(11);
    prisma::io::writeSafeTensors(extra.toStdString(), {{"x", torch::randn({3, 3, 32, 32})}});
    const QString pairs = tmp_.filePath("pairs.csv");
    {
      QFile f(pairs);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(QStringLiteral("clean,corrupt\n%1:pixel_values:0,%1:pixel_values:1\n"
                             "extra.safetensors:x:0,extra.safetensors:x:1\n"
                             "# a comment\n%1:pixel_values:1,extra.safetensors:x:2\n"
                             "extra.safetensors:x:2,%1:pixel_values:0\n"
                             "extra.safetensors:x:1,extra.safetensors:x:0\n")
                  .arg(ref)
                  .toUtf8());
    }
    const QStringList common{"patch-dataset", model, "--pairs", pairs, "--component", "resid_pre"};
    const QString single = tmp_.filePath("single.safetensors"), dual = tmp_.filePath("dual.safetensors");
    Result r = runPrisma(common + QStringList{"--out", single});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = runPrisma(common + QStringList{"--out", dual, "--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));

    prisma::io::SafeTensorsFile a(single.toStdString()), b(dual.toStdString());
    for (const char* key : {"mean", "per_pair", "clean_metric", "corrupt_metric", "labels"})
      QVERIFY2(torch::equal(a.tensor(key), b.tensor(key)), key);
    const torch::Tensor perPair = a.tensor("per_pair");
    QCOMPARE(perPair.size(0), int64_t(5));
    QVERIFY(torch::equal(a.tensor("mean"), perPair.mean(0)));
    QCOMPARE(b.metadata().at("world_size"), std::string("2"));
    QCOMPARE(a.tensor("labels").sizes().vec(), (std::vector<int64_t>{5, 2}));

    prisma::io::SafeTensorsFile golden(fixture("hf_vit_classifier/patching_reference.safetensors"));
    const double err = relL2(perPair[0], golden.tensor("resid_pre_patch"));
    QVERIFY2(err < kPatchTolerance, qPrintable(QStringLiteral("relative L2 %1").arg(err)));
    QVERIFY(torch::equal(a.tensor("labels")[0], golden.tensor("labels").to(torch::kFloat32)));
  }

  // Ctrl-C on one rank only: every rank stops after the same update, rank 0 writes the
  // final checkpoint and all exit 0.
  void interruptOnOneRankStopsAll() {
    const QString out = tmp_.filePath("interrupted");
    const int port = freePort();
    const QStringList args = trainArgs(out, kEndlessSteps) + QStringList{"--timeout-s", QString::number(kFailTimeoutS)};
    QProcess rank0, rank1;
    QVERIFY(startRank(rank0, 0, port, args));
    QVERIFY(startRank(rank1, 1, port, args));
    const QString err = waitForFirstStep(rank0);
    QVERIFY2(err.contains("step "), qPrintable(err));
    ::kill(static_cast<pid_t>(rank1.processId()), SIGINT);
    QVERIFY(rank0.waitForFinished(kProcessTimeoutMs));
    QVERIFY(rank1.waitForFinished(kProcessTimeoutMs));
    QCOMPARE(rank0.exitCode(), 0);
    QCOMPARE(rank1.exitCode(), 0);
    const QString stdout0 = QString::fromUtf8(rank0.readAllStandardOutput());
    QVERIFY2(stdout0.contains("stopped:  stopped after"), qPrintable(stdout0));
    QVERIFY(QString::fromUtf8(rank1.readAllStandardOutput()).isEmpty());  // rank 0 alone reports
    QVERIFY(QFile::exists(out + "/model.safetensors"));
  }

  void failedRankStopsTheOthers_data() {
    QTest::addColumn<QString>("how");
    QTest::newRow("rank killed") << "kill";   // its sockets close: the peer fails at once
    QTest::newRow("rank hung") << "stop";     // SIGSTOP: only the collective timeout ends it
    QTest::newRow("launcher worker killed") << "launcher";
  }

  // A rank fails mid-training: the others must exit with an error within the timeout,
  // never hang. With --nproc the launcher ends the survivors and names the failed rank.
  void failedRankStopsTheOthers() {
    QFETCH(QString, how);
    const QString out = tmp_.filePath("failed-" + how);
    const int port = freePort();
    const QStringList args = trainArgs(out, kEndlessSteps) + QStringList{"--timeout-s", QString::number(kFailTimeoutS)};
    QProcess first, second;  // rank 0 and rank 1, or the launcher (first) alone
    if (how == "launcher") {
      first.setProcessEnvironment(workerEnvironment());
      first.start(QStringLiteral(PRISMA_CLI_PATH), args + QStringList{"--nproc", "2"});
      QVERIFY(first.waitForStarted());
    } else {
      QVERIFY(startRank(first, 0, port, args));
      QVERIFY(startRank(second, 1, port, args));
    }
    // Until both ranks joined and rank 0 draws the progress of its updates.
    QString err = waitForFirstStep(first);
    QVERIFY2(err.contains("step "), qPrintable(err));

    pid_t victim = -1;
    if (how == "launcher") {
      // The launcher's second child is rank 1.
      QFile children(QStringLiteral("/proc/%1/task/%1/children").arg(first.processId()));
      QVERIFY(children.open(QIODevice::ReadOnly));
      const QStringList pids = QString::fromUtf8(children.readAll()).split(' ', Qt::SkipEmptyParts);
      QCOMPARE(pids.size(), 2);
      victim = pids[1].toInt();
    } else {
      QCOMPARE(second.state(), QProcess::Running);
      victim = static_cast<pid_t>(second.processId());
    }
    QElapsedTimer t;
    t.start();
    ::kill(victim, how == "stop" ? SIGSTOP : SIGKILL);
    const bool finished = first.waitForFinished(kFailTimeoutS * 1000 + kFailSlackMs);
    const qint64 ms = t.elapsed();
    if (!finished) {
      first.kill();
      first.waitForFinished();
    }
    if (how != "launcher") {
      second.kill();
      second.waitForFinished();
    }
    err += QString::fromUtf8(first.readAllStandardError());
    qInfo("%s: exited %.1f s after the failure", qPrintable(how), double(ms) / 1000.0);
    QVERIFY2(finished, "the surviving process hung");
    QVERIFY(first.exitStatus() == QProcess::NormalExit);
    QCOMPARE(first.exitCode(), 1);
    if (how == "launcher") {
      QVERIFY2(err.contains("rank 1 (pid " + QString::number(victim) + ") was killed by signal"),
               qPrintable(err.right(600)));
    } else {
      QVERIFY2(err.contains("'allreduce': rank 0"), qPrintable(err.right(600)));
    }
    // A hung peer is detected by the timeout, not before it.
    if (how == "stop") QVERIFY2(ms >= kFailTimeoutS * 1000 * 8 / 10, qPrintable(QString::number(ms)));
  }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
