#pragma once
// The bad-input contract of the core: a failure throws prisma::Error whose message names
// the offending file and says what is wrong. Call as
//   expectError([&] { io::loadModel(dir); }, "config.json", "missing");
// then `if (QTest::currentTestFailed()) return;` where later checks depend on it.

#include "model/Error.h"

#include <QtTest>

#include <string>

namespace prisma::test {

template <typename Fn>
void expectError(Fn&& fn, const std::string& file, const std::string& needle) {
  try {
    fn();
  } catch (const prisma::Error& e) {
    const std::string msg = e.what();
    QVERIFY2(msg.find(file) != std::string::npos, ("does not name the file: " + msg).c_str());
    QVERIFY2(msg.find(needle) != std::string::npos, ("does not say '" + needle + "': " + msg).c_str());
    return;
  }
  QFAIL("no prisma::Error thrown");
}

}  // namespace prisma::test
