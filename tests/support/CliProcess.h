#pragma once
// Runs a command-line program for the CLI tests and collects its exit code and output.
// Shared so that every suite treats a hang and a crash the same way: a hang is code -1
// with "timed out" on stderr, a crash (no normal exit) is code -2.

#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace prisma::test {

struct CliResult {
  static constexpr int kTimedOut = -1;
  static constexpr int kCrashed = -2;
  int code = kTimedOut;
  QString out, err;
};

struct CliOptions {
  int timeout_ms = 120'000;
  // Start-up without the BLAS re-exec: tests that check files, not speed, would otherwise
  // start every process twice.
  bool skip_blas_reexec = false;
};

inline CliResult runProcess(const QString& program, const QStringList& args, const CliOptions& options = {}) {
  QProcess p;
  if (options.skip_blas_reexec) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PRISMA_NO_BLAS_REEXEC"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
  }
  p.start(program, args);
  if (!p.waitForFinished(options.timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return {CliResult::kTimedOut, {}, QStringLiteral("timed out")};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : CliResult::kCrashed,
          QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

#ifdef PRISMA_CLI_PATH
// The `prisma` executable this build made.
inline CliResult runPrisma(const QStringList& args, const CliOptions& options = {}) {
  return runProcess(QStringLiteral(PRISMA_CLI_PATH), args, options);
}
#endif

}  // namespace prisma::test
