import Foundation

/// A FETCH in progress: first (when a body item without PEEK needs it) one
/// `.setFlags` adding \Seen, then the message bytes in bounded chunks of
/// `.fetchBodies`, each chunk answered before the next is asked for.
struct IMAPFetchJob {
    var tag: String
    var byUID: Bool
    var items: [IMAPFetchItem]
    /// Target UIDs, ascending.
    var uids: [UInt32]
    /// Index into `uids` of the next chunk.
    var position = 0
    /// The chunk whose bodies were asked for.
    var chunk: [UInt32] = []
    /// Messages whose \Seen this FETCH set: their response includes FLAGS.
    var seenSet: Set<UInt32> = []
    /// Waiting for the \Seen `.setFlags` (else for bodies).
    var settingSeen = false
    var seenChanges: [UInt32: MessageFlags] = [:]

    var needsMessage: Bool { items.contains { $0.needsMessage } }
}

/// FETCH and UID FETCH (RFC 3501 section 6.4.5).
extension IMAPSession {
    /// Chunks of message bytes asked from the store at once: at most this many
    /// messages and (unless a single message is larger) this many bytes.
    static let chunkMessages = 64
    static let chunkBytes = 8 * 1_048_576

    /// Target UIDs of a sequence set, ascending; nil (after a BAD) when a sequence
    /// number does not exist.
    mutating func targets(_ set: IMAPSequenceSet, byUID: Bool, tag: String) -> [UInt32]? {
        guard let view = selection else { return [] }
        if byUID {
            let ranges = set.resolved(largest: view.highestUID)
            return view.messages.map(\.uid).filter { uid in ranges.contains { $0.contains(uid) } }
        }
        if view.count > 0, set.highestNumber > view.count {
            bad(tag, "Invalid message sequence number")
            return nil
        }
        let ranges = set.resolved(largest: view.count)
        return view.messages.indices.filter { index in ranges.contains { $0.contains(UInt32(index + 1)) } }
            .map { view.messages[$0].uid }
    }

    mutating func fetch(tag: String, byUID: Bool, parser: inout IMAPParser) throws {
        try parser.space()
        let set = try parser.sequenceSet()
        try parser.space()
        var items = try IMAPFetchRequest.parse(&parser)
        try parser.end()
        guard let view = selection, let uids = targets(set, byUID: byUID, tag: tag) else { return }
        if byUID, !items.contains(.uid) { items.insert(.uid, at: 0) }
        var job = IMAPFetchJob(tag: tag, byUID: byUID, items: items, uids: uids)
        if !view.readOnly, items.contains(where: \.setsSeen) {
            for uid in uids {
                guard let index = view.index(ofUID: uid) else { continue }
                let flags = view.messages[index].flags
                if !flags.contains(.seen) { job.seenChanges[uid] = flags.union(.seen) }
            }
            if !job.seenChanges.isEmpty {
                job.settingSeen = true
                request(.setFlags(mailbox: view.name, changes: job.seenChanges), then: .fetch(job))
                return
            }
        }
        continueFetch(job)
    }

    mutating func fetchContinued(_ job: IMAPFetchJob, result: MailboxResult) {
        var job = job
        if job.settingSeen {
            guard case .done = result else {
                reply("\(job.tag) \(Self.failureText(result))")
                return
            }
            job.settingSeen = false
            applyFlags(job.seenChanges)
            job.seenSet = Set(job.seenChanges.keys)
            continueFetch(job)
            return
        }
        guard case .bodies(let bodies) = result else {
            reply("\(job.tag) \(Self.failureText(result))")
            return
        }
        for uid in job.chunk {
            // A message the store no longer has is left out.
            guard let bytes = bodies[uid] else { continue }
            writeFetch(uid: uid, job: job, message: IMAPMessage(bytes))
        }
        continueFetch(job)
    }

    private mutating func continueFetch(_ job: IMAPFetchJob) {
        var job = job
        guard let view = selection else { return }
        if !job.needsMessage {
            for uid in job.uids { writeFetch(uid: uid, job: job, message: nil) }
            finish(job.tag, "OK \(job.byUID ? "UID FETCH" : "FETCH") completed", allowExpunge: job.byUID)
            return
        }
        guard job.position < job.uids.count else {
            finish(job.tag, "OK \(job.byUID ? "UID FETCH" : "FETCH") completed", allowExpunge: job.byUID)
            return
        }
        job.chunk = Self.chunk(job.uids, from: job.position, view: view)
        job.position += job.chunk.count
        request(.fetchBodies(mailbox: view.name, uids: job.chunk), then: .fetch(job))
    }

    static func chunk(_ uids: [UInt32], from start: Int, view: Selection) -> [UInt32] {
        var end = start
        var bytes = 0
        while end < uids.count, end - start < chunkMessages {
            let size = view.index(ofUID: uids[end]).map { view.messages[$0].size } ?? 0
            if end > start, bytes + size > chunkBytes { break }
            bytes += size
            end += 1
        }
        return Array(uids[start..<max(end, start + 1)])
    }

    mutating func applyFlags(_ changes: [UInt32: MessageFlags]) {
        guard var view = selection else { return }
        for (uid, flags) in changes {
            if let index = view.index(ofUID: uid) { view.messages[index].flags = flags }
        }
        selection = view
    }

    /// `* n FETCH (...)` for one message.
    private mutating func writeFetch(uid: UInt32, job: IMAPFetchJob, message: IMAPMessage?) {
        guard let view = selection, let index = view.index(ofUID: uid) else { return }
        let summary = view.messages[index]
        var writer = IMAPResponseWriter()
        writer.text("* \(index + 1) FETCH (")
        var first = true
        func separator(_ writer: inout IMAPResponseWriter) {
            if !first { writer.text(" ") }
            first = false
        }
        for item in job.items {
            separator(&writer)
            switch item {
            case .flags: writer.text("FLAGS \(view.flags(of: summary))")
            case .uid: writer.text("UID \(summary.uid)")
            case .internalDate: writer.text("INTERNALDATE \"\(IMAPDateFormat.internalDate(summary.internalDate))\"")
            case .rfc822Size: writer.text("RFC822.SIZE \(summary.size)")
            case .envelope:
                writer.text("ENVELOPE ")
                message?.writeEnvelope(into: &writer)
            case .body:
                writer.text("BODY ")
                message?.writeBodyStructure(extended: false, into: &writer)
            case .bodyStructure:
                writer.text("BODYSTRUCTURE ")
                message?.writeBodyStructure(extended: true, into: &writer)
            case .rfc822:
                writer.text("RFC822 ")
                writer.literal(message?.bytes ?? [])
            case .rfc822Header:
                writer.text("RFC822.HEADER ")
                writer.literal(message?.header ?? [])
            case .rfc822Text:
                writer.text("RFC822.TEXT ")
                writer.literal(message?.text ?? [])
            case .section(let spec, _, let partial):
                writer.text("BODY[\(spec.label)]")
                var data = message.map { Self.sectionData(spec, of: $0) } ?? []
                if let partial {
                    writer.text("<\(partial.start)>")
                    let start = min(partial.start, data.count)
                    let end = start + min(partial.count, data.count - start)
                    data = Array(data[start..<end])
                }
                writer.text(" ")
                writer.literal(data)
            }
        }
        if job.seenSet.contains(uid), !job.items.contains(.flags) {
            separator(&writer)
            writer.text("FLAGS \(view.flags(of: summary))")
        }
        writer.text(")")
        writer.crlf()
        emit(.send(writer.bytes))
    }

    /// The bytes a `BODY[section]` names; empty for a section the message lacks.
    static func sectionData(_ spec: IMAPSectionSpec, of message: IMAPMessage) -> [UInt8] {
        let entity: IMAPMimePart
        if spec.part.isEmpty {
            guard spec.text != nil else { return message.bytes }
            entity = message.root
        } else {
            guard let part = message.part(spec.part) else { return [] }
            switch spec.text {
            case nil: return Array(message.bytes[part.body])
            case .mime: return Array(message.bytes[part.header])
            default:
                guard let inner = part.encapsulated.first else { return [] }
                entity = inner
            }
        }
        switch spec.text {
        case .header: return Array(message.bytes[entity.header])
        case .text: return Array(message.bytes[entity.body])
        case .headerFields(let names): return message.headerFields(of: entity, names: names, not: false)
        case .headerFieldsNot(let names): return message.headerFields(of: entity, names: names, not: true)
        case .mime, nil: return []
        }
    }
}
