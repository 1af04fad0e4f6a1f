import Synchronization

/// Carries Sendable messages from any thread to one loop: a locked queue plus a
/// waker. The handler runs on the loop thread with every message queued so far.
public final class Mailbox<Message: Sendable>: Sendable {
    private let queue: MessageQueue<Message>
    private let waker: LoopWaker

    /// Create on the loop thread; `handler` runs there.
    public init(loop: EventLoop, handler: @escaping ([Message]) -> Void) {
        let queue = MessageQueue<Message>()
        self.queue = queue
        waker = loop.makeWaker { handler(queue.takeAll()) }
    }

    public func post(_ message: Message) {
        queue.append(message)
        waker.wake()
    }
}

private final class MessageQueue<Message: Sendable>: Sendable {
    private let messages = Mutex<[Message]>([])
    func append(_ message: Message) { messages.withLock { $0.append(message) } }
    func takeAll() -> [Message] { messages.withLock { queued in defer { queued = [] }; return queued } }
}
