/// The methods of the cluster RPC: the mailbox service and session calls (MailboxAPI), the
/// readers of large messages, the change subscriptions. The numbers are the wire's: a method
/// keeps its number for good; a new one gets a new number (an old peer answers `unknownMethod`).
public enum RPCMethod: UInt16, Sendable, CaseIterable {
    // Service (no session).
    case ping = 1
    case unlock = 2
    case deliver = 3
    case acceptInbound = 4
    case storedBytes = 5
    case storageIsLow = 6

    // Session calls: the payload starts with the session handle (u64) `unlock` returned.
    case folders = 20, folder, createFolder, renameFolder, deleteFolder, setSubscribed, subscriptions
    case append = 30, appendBatch, appendAll, replace
    case messages = 40, messageStates, messageBytes, messageStatesPrefetch, messageBytesPrefetch
    /// The states and the derived bytes of a set of messages in one read (FETCH ENVELOPE).
    case messageStatesDerived = 45
    case structures = 50, messageHeaders, derived, keepDerived
    case storeFlags = 60, copy, move, expunge, expunged, changesSince, expungeHistoryStart
    /// `expungeWithModSeq`: the UIDs removed and the MODSEQ of the expunge.
    case expungeWithModSeq = 67
    case status = 70, claimRecent, fullTextSearch, searchFields, sentDays, isStillAuthorized, quota
    /// `searchFields(in:excluding:)`: the UIDs that have fields, and the fields the frontend lacks.
    case searchFieldsExcluding = 77
    /// `changes(folder:)`: the response (empty) opens the subscription; its changes follow as push
    /// frames with the request's id until the client cancels that id or the session closes.
    case subscribe = 80
    case close = 81

    /// A large message read piece by piece: open (handle and size), next piece (empty at the
    /// end), close. The frontend pulls, so a slow IMAP client holds no more than one piece.
    case readerOpen = 90, readerNext, readerClose

    /// Storage-node administration (`StorageNodeAdmin`): a new mailbox made on the node the
    /// placement chose, and a mailbox moved between nodes (`moveOut` asks its owner to move it; the
    /// owner sends the files and queued mail with `receive*`).
    case createMailbox = 100
    case moveOut = 101
    case receiveBegin = 110, receiveChunk, receiveQueued, receiveCommit, receiveAbort, receiveLate
}
