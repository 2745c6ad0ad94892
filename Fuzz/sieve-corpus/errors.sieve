require "nosuchext"; if true { keep }
