import Foundation

/// Mailbox updates (RFC 3501 section 5.2 and 7.4.1): the session compares a fresh
/// store snapshot with what the client was told and reports new messages (EXISTS,
/// RECENT), vanished ones (EXPUNGE, highest first) and flag changes (FETCH FLAGS).
/// Outside IDLE they are held until a command may carry them; EXPUNGE never goes
/// out during FETCH, STORE or SEARCH.
extension IMAPSession {
    /// New mail or a timer: while a mailbox is selected and the session is between
    /// commands (or idling), asks the store for a fresh snapshot.
    public mutating func refresh() -> [IMAPAction] {
        guard let view = selection, !framer.isInsideCommand else { return [] }
        switch mode {
        case .command:
            request(.snapshot(mailbox: view.name), then: .refresh(.background))
        case .idling(let tag):
            request(.snapshot(mailbox: view.name), then: .refresh(.idle(tag: tag)))
        default:
            return []
        }
        return takeOutbox()
    }

    /// Routes a store result to the command that asked for it.
    mutating func continueCommand(_ step: IMAPPending, with result: MailboxResult) {
        switch step {
        case .authentication:
            break
        case .select(let tag, let mailbox, let readOnly):
            selected(tag: tag, mailbox: mailbox, readOnly: readOnly, result: result)
        case .simple(let tag, let command):
            if case .done = result {
                finish(tag, "OK \(command) completed")
            } else {
                reply("\(tag) \(Self.failureText(result))")
            }
        case .list(let tag, let pattern, let subscribedOnly):
            listed(tag: tag, pattern: pattern, subscribedOnly: subscribedOnly, result: result)
        case .status(let tag, let mailbox, let items):
            statusReported(tag: tag, mailbox: mailbox, items: items, result: result)
        case .refresh(let purpose):
            refreshed(purpose, result: result)
        case .fetch(let job):
            fetchContinued(job, result: result)
        case .store(let job):
            storeContinued(job, result: result)
        case .search(let job):
            searchContinued(job, result: result)
        case .expunge(let tag, let command, let closing):
            expunged(tag: tag, command: command, closing: closing, result: result)
        case .copy(let tag, let command, let target):
            copied(tag: tag, command: command, target: target, result: result)
        case .append(let tag, let mailbox):
            appended(tag: tag, mailbox: mailbox, result: result)
        }
    }

    private mutating func refreshed(_ purpose: IMAPRefreshPurpose, result: MailboxResult) {
        if case .snapshot(let snapshot) = result, selection != nil { latest = snapshot }
        switch purpose {
        case .background:
            break
        case .idle(let tag):
            mode = .idling(tag: tag)
            if selection != nil, latest != nil { reportUpdates(allowExpunge: true) }
        case .command(let tag, let completion):
            // A failed re-read changes nothing the client was told; the command itself
            // (NOOP, or an APPEND/COPY already done) succeeded.
            finish(tag, completion)
        }
    }

    /// Tells the client how `latest` differs from its view and updates the view.
    /// Without `allowExpunge`, vanished messages stay in the view (and `latest` stays
    /// for a later report).
    mutating func reportUpdates(allowExpunge: Bool) {
        guard var view = selection, let snapshot = latest else { return }
        guard snapshot.uidValidity == view.uidValidity else {
            // Every UID the client holds is void; RFC 3501 2.3.1.1 leaves only this.
            reply("* BYE Mailbox UIDVALIDITY changed, please reconnect")
            emit(.limitReached("UIDVALIDITY of \(view.name) changed while selected"))
            close()
            return
        }
        let current = Dictionary(snapshot.messages.map { ($0.uid, $0) }, uniquingKeysWith: { first, _ in first })
        let vanished = Set(view.messages.lazy.map(\.uid).filter { current[$0] == nil })
        if allowExpunge, !vanished.isEmpty {
            selection = view
            removeFromView(vanished)
            view = selection ?? view
        }
        for index in view.messages.indices {
            guard let now = current[view.messages[index].uid], now.flags != view.messages[index].flags else { continue }
            view.messages[index].flags = now.flags
            reply("* \(index + 1) FETCH (FLAGS \(view.flags(of: view.messages[index])))")
        }
        let highest = view.highestUID
        let added = snapshot.messages.filter { $0.uid > highest }.sorted { $0.uid < $1.uid }
        if !added.isEmpty {
            view.messages.append(contentsOf: added)
            view.recent.formUnion(added.lazy.map(\.uid).filter { snapshot.recent.contains($0) })
            reply("* \(view.messages.count) EXISTS")
            reply("* \(view.recent.count) RECENT")
        }
        view.uidNext = max(view.uidNext, snapshot.uidNext)
        selection = view
        if allowExpunge || vanished.isEmpty { latest = nil }
    }
}
