import Foundation

/// ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) of a parsed message.
/// Strings are written quoted or as literals by `IMAPResponseWriter`; absent fields
/// are NIL.
extension IMAPMessage {
    func writeEnvelope(into writer: inout IMAPResponseWriter) {
        Self.writeEnvelope(of: root, into: &writer)
    }

    func writeBodyStructure(extended: Bool, into writer: inout IMAPResponseWriter) {
        Self.writeBody(root, bytes: bytes, extended: extended, into: &writer)
    }

    static func writeEnvelope(of entity: IMAPMimePart, into writer: inout IMAPResponseWriter) {
        func value(_ name: String) -> [UInt8]? { entity.field(name).map { unfolded($0.value) } }
        writer.text("(")
        writer.nstring(value("Date"))
        writer.text(" ")
        writer.nstring(value("Subject"))
        let from = value("From")
        for (index, name) in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"].enumerated() {
            writer.text(" ")
            var field = value(name)
            if index == 1 || index == 2, field.map({ IMAPMimeValue.addresses($0).isEmpty }) ?? true { field = from }
            writeAddresses(field, into: &writer)
        }
        writer.text(" ")
        writer.nstring(value("In-Reply-To"))
        writer.text(" ")
        writer.nstring(value("Message-ID"))
        writer.text(")")
    }

    static func writeAddresses(_ field: [UInt8]?, into writer: inout IMAPResponseWriter) {
        guard let field else {
            writer.text("NIL")
            return
        }
        let addresses = IMAPMimeValue.addresses(field)
        guard !addresses.isEmpty else {
            writer.text("NIL")
            return
        }
        writer.text("(")
        for address in addresses {
            writer.text("(")
            writer.nstring(address.name.map { Array($0.utf8) })
            writer.text(" NIL ")
            writer.nstring(address.mailbox.map { Array($0.utf8) })
            writer.text(" ")
            writer.nstring(address.host.map { Array($0.utf8) })
            writer.text(")")
        }
        writer.text(")")
    }

    static func writeBody(_ part: IMAPMimePart, bytes: [UInt8], extended: Bool,
                          into writer: inout IMAPResponseWriter) {
        writer.text("(")
        if part.isMultipart {
            for child in part.parts { writeBody(child, bytes: bytes, extended: extended, into: &writer) }
            writer.text(" ")
            writer.string(part.subtype)
            if extended {
                writer.text(" ")
                writeParameters(part.parameters, into: &writer)
                writeExtensions(part, into: &writer)
            }
        } else {
            writer.string(part.type)
            writer.text(" ")
            writer.string(part.subtype)
            writer.text(" ")
            writeParameters(part.parameters, into: &writer)
            writer.text(" ")
            writer.nstring(part.id)
            writer.text(" ")
            writer.nstring(part.description)
            writer.text(" ")
            writer.string(part.encoding)
            writer.text(" \(part.body.count)")
            if part.isMessage, let message = part.encapsulated.first {
                writer.text(" ")
                writeEnvelope(of: message, into: &writer)
                writer.text(" ")
                writeBody(message, bytes: bytes, extended: extended, into: &writer)
                writer.text(" \(lineCount(bytes[part.body]))")
            } else if part.type == "TEXT" {
                writer.text(" \(lineCount(bytes[part.body]))")
            }
            if extended {
                writer.text(" NIL")  // body MD5
                writeExtensions(part, into: &writer)
            }
        }
        writer.text(")")
    }

    private static func writeParameters(_ parameters: [(String, String)], into writer: inout IMAPResponseWriter) {
        guard !parameters.isEmpty else {
            writer.text("NIL")
            return
        }
        writer.text("(")
        for (index, (name, value)) in parameters.enumerated() {
            if index > 0 { writer.text(" ") }
            writer.string(name)
            writer.text(" ")
            writer.string(value)
        }
        writer.text(")")
    }

    /// Disposition, language and location.
    private static func writeExtensions(_ part: IMAPMimePart, into writer: inout IMAPResponseWriter) {
        writer.text(" ")
        if let (kind, parameters) = part.disposition {
            writer.text("(")
            writer.string(kind)
            writer.text(" ")
            writeParameters(parameters, into: &writer)
            writer.text(")")
        } else {
            writer.text("NIL")
        }
        writer.text(" ")
        if let language = part.language {
            let tags = IMAPMimeValue.tokenize(language, specials: [0x2C]).compactMap { token -> String? in
                if case .word(let w) = token { return w } else { return nil }
            }
            if tags.count == 1 {
                writer.string(tags[0])
            } else if tags.isEmpty {
                writer.text("NIL")
            } else {
                writer.text("(")
                for (index, tag) in tags.enumerated() {
                    if index > 0 { writer.text(" ") }
                    writer.string(tag)
                }
                writer.text(")")
            }
        } else {
            writer.text("NIL")
        }
        writer.text(" ")
        writer.nstring(part.location)
    }
}
