import ArgumentParser
import Foundation
import MailStore

struct User: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the users of the embedded store.",
        subcommands: [Add.self, Remove.self, Passwd.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the password is read from standard input.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "User name (the local part of its address).") var name: String
        @Flag(help: "Read the password from standard input (required).") var passwordStdin = false

        func run() throws {
            guard passwordStdin else { throw ValidationError("pass the password on standard input with --password-stdin") }
            let config = try options.load()
            let password = try readPasswordFromStdin()
            try reportingStoreErrors { try UserDatabase(path: "\(config.server.dataDir)/users").add(name, password: password) }
            try Maildir(root: "\(config.server.dataDir)/mail", hostName: config.server.fqdn).create(user: name.lowercased())
            print("user \(name.lowercased()) added")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user (its Maildir is kept).")
        @OptionGroup var options: ConfigOptions
        @Argument var name: String

        func run() throws {
            let config = try options.load()
            try reportingStoreErrors { try UserDatabase(path: "\(config.server.dataDir)/users").remove(name) }
            print("user \(name.lowercased()) removed; mail kept in \(config.server.dataDir)/mail/\(name.lowercased())")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password, read from standard input.")
        @OptionGroup var options: ConfigOptions
        @Argument var name: String
        @Flag(help: "Read the password from standard input (required).") var passwordStdin = false

        func run() throws {
            guard passwordStdin else { throw ValidationError("pass the password on standard input with --password-stdin") }
            let config = try options.load()
            let password = try readPasswordFromStdin()
            try reportingStoreErrors { try UserDatabase(path: "\(config.server.dataDir)/users").setPassword(name, password: password) }
            print("password of \(name.lowercased()) changed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            for name in try UserDatabase(path: "\(config.server.dataDir)/users").load().keys.sorted() { print(name) }
        }
    }
}

/// Store errors become a message and exit code 1, not a stack of Swift noise.
private func reportingStoreErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as StoreError {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
