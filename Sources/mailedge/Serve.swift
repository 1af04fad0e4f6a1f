import ArgumentParser
import Foundation
import Logging
import Config
import Server

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the receive connectors.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        // First, before any thread or descriptor exists: glibc's malloc tunables.
        MallocTuning.applyByReexecuting()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in MailEdgeLogHandler(label: label, level: level) }
        let logger = Logger(label: "mailedge")

        // Signals are taken synchronously by the main thread (sigwait); block them
        // before any worker thread exists so every thread inherits the mask.
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let config: MailEdgeConfig
        do {
            config = try options.load()
        } catch let error as ConfigError {
            for issue in error.issues { printError("error: \(issue)") }
            throw ExitCode(2)
        }
        logger.notice("configuration loaded", metadata: ["source": "\(config.sourcePath ?? "embedded default")"])

        let server: MailEdgeServer
        do {
            server = MailEdgeServer(runtime: try ServerRuntime(config: config, logger: logger))
            try server.start()
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }

        while true {
            var received: Int32 = 0
            sigwait(&signals, &received)
            if received == SIGHUP {
                logger.warning("SIGHUP: reload is not available in this version; configuration unchanged")
                continue
            }
            logger.notice("signal received", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
            server.shutdown()
            return
        }
    }
}
