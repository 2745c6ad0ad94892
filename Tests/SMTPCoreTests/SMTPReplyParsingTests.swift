import SMTPCore
import Testing

@Suite("SMTP replies as a client reads them")
struct SMTPReplyParsingTests {
    @Test("reply lines split into code, continuation and text; anything else is not a reply line")
    func lines() {
        #expect(SMTPReply.parseLine("250-mx.example greets you")! == (250, true, "mx.example greets you"))
        #expect(SMTPReply.parseLine("250 OK")! == (250, false, "OK"))
        #expect(SMTPReply.parseLine("354")! == (354, false, ""))
        for bad in ["", "25", "2500 x", "199 too low", "600 too high", "25a ok", "250_x", "ok 250"] {
            #expect(SMTPReply.parseLine(bad) == nil, "\(bad)")
        }
    }

    @Test("the enhanced code is found only when its class matches the reply's, and taken out of every line")
    func enhanced() {
        let r = SMTPReply(code: 550, received: ["5.1.1 no such user", "5.1.1 really"])
        #expect(r.enhanced == "5.1.1" && r.lines == ["no such user", "really"])
        #expect(r.text == "no such user" && r.summary == "550 5.1.1 no such user" && r.isPermanent && !r.isPositive)
        #expect(SMTPReply(code: 451, received: ["5.1.1 wrong class"]).enhanced == nil)
        #expect(SMTPReply(code: 250, received: ["2.0.0"]).lines == [""])
        #expect(SMTPReply(code: 250, received: ["2.0.0x not a code"]).enhanced == nil)
        #expect(SMTPReply.enhancedCode("4.7.1234 too long", code: 450) == nil)
        let ehlo = SMTPReply(code: 250, received: ["mx.example", "PIPELINING", "8BITMIME"])
        #expect(ehlo.enhanced == nil && ehlo.lines == ["mx.example", "PIPELINING", "8BITMIME"] && ehlo.summary == "250 mx.example")
    }

    @Test("a reply this server encodes reads back as the same reply")
    func roundTrip() {
        let sent = SMTPReply(421, "4.3.2", ["service shutting down", "try later"])
        let texts = String(decoding: sent.encoded, as: UTF8.self).split(separator: "\r\n").map { String(SMTPReply.parseLine(String($0))!.text) }
        #expect(SMTPReply(code: 421, received: texts) == sent)
    }
}
